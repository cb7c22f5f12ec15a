# Mints an end-user token for /chat/ and /chat/stream from a `chat` API key (see the README, "Access").
import base64, hashlib, hmac, json, time

def user_token(key: str, user_id: str, ttl: int = 900) -> str:
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key[:12]}).encode())
    claims = b64(json.dumps({"sub": user_id, "exp": int(time.time()) + ttl}).encode())
    secret = hashlib.sha256(b"user-token:" + key.encode()).digest()
    sig = hmac.new(secret, f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(sig)}"
