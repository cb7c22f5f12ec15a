// Mints an end-user token for /chat/ and /chat/stream from a `chat` API key (see the README, "Access").
import { createHash, createHmac } from "node:crypto";

export function userToken(key: string, userId: string, ttl = 900): string {
  const b64 = (data: string | Buffer) => Buffer.from(data).toString("base64url");
  const header = b64(JSON.stringify({ alg: "HS256", typ: "JWT", kid: key.slice(0, 12) }));
  const claims = b64(JSON.stringify({ sub: userId, exp: Math.floor(Date.now() / 1000) + ttl }));
  const secret = createHash("sha256").update("user-token:" + key).digest();
  const sig = createHmac("sha256", secret).update(`${header}.${claims}`).digest();
  return `${header}.${claims}.${b64(sig)}`;
}
