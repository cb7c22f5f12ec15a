// Exercises the generated TypeScript client against a running server: one chat turn read as a
// typed `ChatResponse`, one stream read as typed `ChatChunk` events until `is_final`, and one
// 422 read as a typed `ErrorBody`. Usage: node dist/smoke.js BASE_URL

import { client } from './generated/client.gen.js';
import { chat, chatStream } from './generated/sdk.gen.js';
import type { ChatChunk, ChatResponse, ErrorBody } from './generated/types.gen.js';

function check(condition: unknown, message: string): asserts condition {
  if (!condition) {
    throw new Error(message);
  }
}

async function main(baseUrl: string): Promise<void> {
  client.setConfig({ baseUrl });

  const turn = await chat({
    body: { content: 'I need help with my medical consultation', user_id: 'sdk-typescript' },
  });
  check(turn.data, `a turn gives a ChatResponse, got status ${turn.response.status}`);
  const reply: ChatResponse = turn.data;
  check(reply.content.length > 0, 'the reply has content');
  console.log(`typescript: turn answered by ${reply.agent} in conversation ${reply.conversation_id}`);

  const { stream } = await chatStream({
    body: { content: 'Can I book an appointment?', user_id: 'sdk-typescript' },
  });
  const chunks: ChatChunk[] = [];
  for await (const event of stream) {
    const chunk: ChatChunk = event;
    chunks.push(chunk);
    if (chunk.is_final) {
      break;
    }
  }
  const last = chunks[chunks.length - 1];
  check(last?.is_final, 'the stream ends with a final event');
  check(last.conversation_id, 'the final event names the conversation');
  const text = chunks.map((c) => c.content).join('');
  console.log(`typescript: stream gave ${chunks.length} typed events, ${text.length} characters`);

  const bad = await chat({ body: { content: '' } });
  check(bad.response.status === 422, `an empty message is a 422, got ${bad.response.status}`);
  const error: ErrorBody | undefined = bad.error;
  check(error?.error.code === 'validation_error', 'the 422 is a validation error');
  check(error.error.field === 'content', 'the 422 names the field');
  console.log(`typescript: 422 read as ErrorBody naming \`${error.error.field}\``);
}

main(process.argv[2] ?? 'http://127.0.0.1:8000').catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
