"""Exercises the generated Python client against a running server.

One chat turn read as a typed `ChatResponse`, one stream read as typed `ChatChunk` events until
`is_final`, and one 422 read as a typed `ErrorBody`. Usage: smoke.py BASE_URL
"""

import json
import sys

import httpx
from whatsapp_agent_client import Client
from whatsapp_agent_client.api.chat import chat
from whatsapp_agent_client.models import ChatChunk, ChatRequest, ChatResponse, ErrorBody


def main(base_url: str) -> None:
    client = Client(base_url=base_url, timeout=httpx.Timeout(30.0))

    reply = chat.sync(
        client=client,
        body=ChatRequest(content="I need help with my medical consultation", user_id="sdk-python"),
    )
    assert isinstance(reply, ChatResponse), f"a turn gives a ChatResponse, got {reply!r}"
    assert reply.content, "the reply has content"
    print(f"python: turn answered by {reply.agent} in conversation {reply.conversation_id}")

    # The generator has no Server-Sent Events support, so the stream is read with the client's
    # own HTTP connection and each `data:` is parsed into the generated `ChatChunk`.
    request = ChatRequest(content="Can I book an appointment?", user_id="sdk-python")
    chunks: list[ChatChunk] = []
    with client.get_httpx_client().stream(
        "POST", "/chat/stream", json=request.to_dict(), headers={"Accept": "text/event-stream"}
    ) as response:
        assert response.status_code == 200, response.status_code
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            chunk = ChatChunk.from_dict(json.loads(line[len("data:") :]))
            chunks.append(chunk)
            if chunk.is_final:
                break
    assert chunks and chunks[-1].is_final, "the stream ends with a final event"
    assert chunks[-1].conversation_id, "the final event names the conversation"
    text = "".join(c.content for c in chunks)
    print(f"python: stream gave {len(chunks)} typed events, {len(text)} characters")

    error = chat.sync(client=client, body=ChatRequest(content=""))
    assert isinstance(error, ErrorBody), f"a 422 gives an ErrorBody, got {error!r}"
    assert error.error.code == "validation_error", error.error.code
    assert error.error.field == "content", error.error.field
    print(f"python: 422 read as ErrorBody naming `{error.error.field}`")


if __name__ == "__main__":
    main(sys.argv[1])
