//! Bodies exactly as the OpenAI API writes them: key order, nulls and framing included.

use serde_json::Value;

pub const ID: &str = "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT";
const CREATED: u64 = 1_741_569_952;
const MODEL: &str = "gpt-4o-mini-2024-07-18";
const FINGERPRINT: &str = "fp_06737a9306";

/// A JSON string literal.
pub fn s(text: &str) -> String {
    Value::from(text).to_string()
}

fn usage_json(prompt: u32, completion: u32) -> String {
    format!(
        concat!(
            r#"{{"prompt_tokens":{p},"completion_tokens":{c},"total_tokens":{t},"#,
            r#""prompt_tokens_details":{{"cached_tokens":0,"audio_tokens":0}},"#,
            r#""completion_tokens_details":{{"reasoning_tokens":0,"audio_tokens":0,"#,
            r#""accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}}"#
        ),
        p = prompt,
        c = completion,
        t = prompt + completion
    )
}

/// A whole `chat.completion` whose message is `message_json`.
fn completion_with(
    message_json: &str,
    finish_reason: &str,
    prompt: u32,
    completion: u32,
) -> String {
    format!(
        concat!(
            r#"{{"id":"{id}","object":"chat.completion","created":{created},"model":"{model}","#,
            r#""choices":[{{"index":0,"message":{message},"logprobs":null,"finish_reason":"{finish}"}}],"#,
            r#""usage":{usage},"service_tier":"default","system_fingerprint":"{fp}"}}"#
        ),
        id = ID,
        created = CREATED,
        model = MODEL,
        message = message_json,
        finish = finish_reason,
        usage = usage_json(prompt, completion),
        fp = FINGERPRINT,
    )
}

/// A text completion.
pub fn completion(content: &str, prompt: u32, completion: u32) -> String {
    let message = format!(
        r#"{{"role":"assistant","content":{},"refusal":null,"annotations":[]}}"#,
        s(content)
    );
    completion_with(&message, "stop", prompt, completion)
}

/// A text completion that ended for `finish_reason` (e.g. `length`: cut at the token limit).
pub fn completion_ending(content: &str, finish_reason: &str, completion: u32) -> String {
    let message = format!(
        r#"{{"role":"assistant","content":{},"refusal":null,"annotations":[]}}"#,
        s(content)
    );
    completion_with(&message, finish_reason, 64, completion)
}

/// A completion that asks for these `(id, name, arguments)` calls.
pub fn tool_call_completion(calls: &[(&str, &str, &str)]) -> String {
    let calls: Vec<String> = calls
        .iter()
        .map(|(id, name, arguments)| {
            format!(
                r#"{{"id":{},"type":"function","function":{{"name":{},"arguments":{}}}}}"#,
                s(id),
                s(name),
                s(arguments)
            )
        })
        .collect();
    let message = format!(
        r#"{{"role":"assistant","content":null,"tool_calls":[{}],"refusal":null,"annotations":[]}}"#,
        calls.join(",")
    );
    completion_with(&message, "tool_calls", 81, 42)
}

/// A `chat.completion.chunk` with one choice carrying `delta_json`.
pub fn chunk(delta_json: &str, finish_reason: Option<&str>) -> String {
    let finish = finish_reason.map_or_else(|| "null".to_string(), s);
    format!(
        concat!(
            r#"{{"id":"{id}","object":"chat.completion.chunk","created":{created},"model":"{model}","#,
            r#""service_tier":"default","system_fingerprint":"{fp}","#,
            r#""choices":[{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}],"#,
            r#""usage":null,"obfuscation":"Qx3"}}"#
        ),
        id = ID,
        created = CREATED,
        model = MODEL,
        fp = FINGERPRINT,
        delta = delta_json,
        finish = finish,
    )
}

/// The first chunk of a text reply.
pub fn role_chunk() -> String {
    chunk(r#"{"role":"assistant","content":"","refusal":null}"#, None)
}

/// A chunk carrying the next piece of text.
pub fn text_chunk(text: &str) -> String {
    chunk(&format!(r#"{{"content":{}}}"#, s(text)), None)
}

/// The last choice chunk.
pub fn finish_chunk(reason: &str) -> String {
    chunk("{}", Some(reason))
}

/// The usage chunk sent when `stream_options.include_usage` was asked: no choices.
pub fn usage_chunk(prompt: u32, completion: u32) -> String {
    format!(
        concat!(
            r#"{{"id":"{id}","object":"chat.completion.chunk","created":{created},"model":"{model}","#,
            r#""service_tier":"default","system_fingerprint":"{fp}","choices":[],"usage":{usage},"#,
            r#""obfuscation":"kD"}}"#
        ),
        id = ID,
        created = CREATED,
        model = MODEL,
        fp = FINGERPRINT,
        usage = usage_json(prompt, completion),
    )
}

/// One SSE event carrying `json`.
pub fn event(json: &str) -> String {
    format!("data: {json}\n\n")
}

pub const DONE: &str = "data: [DONE]\n\n";

/// A whole text reply as SSE events, one write each: role, the pieces, finish, usage, `[DONE]`.
pub fn text_stream(pieces: &[&str], prompt: u32, completion: u32) -> Vec<String> {
    let mut writes = vec![event(&role_chunk())];
    writes.extend(pieces.iter().map(|p| event(&text_chunk(p))));
    writes.push(event(&finish_chunk("stop")));
    writes.push(event(&usage_chunk(prompt, completion)));
    writes.push(DONE.to_string());
    writes
}

/// An OpenAI error body.
pub fn error_body(message: &str, kind: &str, code: Option<&str>) -> String {
    format!(
        r#"{{"error":{{"message":{},"type":{},"param":null,"code":{}}}}}"#,
        s(message),
        s(kind),
        code.map_or_else(|| "null".to_string(), s)
    )
}
