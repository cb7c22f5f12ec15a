//! Replies the model did not finish: cut at the token limit (`finish_reason: "length"`) or
//! stopped by a content filter (`"content_filter"`, as Azure OpenAI writes it), whole and
//! streamed.

use serde_json::json;
use whatsapp_agent::ports::{CutOff, LlmChunk, LlmPort, LlmRequest};

use crate::fake::{FakeOpenAi, Reply};
use crate::openai_wire as wire;
use crate::{drain, text_of};

const CUT: &str = "Para pedir cita necesito su nombre completo, el día que prefiere y";

fn limited(tokens: u32) -> LlmRequest {
    LlmRequest {
        max_completion_tokens: Some(tokens),
        ..crate::conversation()
    }
}

/// A completion stopped by the content filter, keys sorted and filter results included, as
/// Azure OpenAI answers.
fn filtered_completion() -> String {
    let safe = r#"{"filtered":false,"severity":"safe"}"#;
    let results =
        format!(r#"{{"hate":{safe},"self_harm":{safe},"sexual":{safe},"violence":{safe}}}"#);
    let withheld = r#"{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":true,"severity":"medium"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}"#;
    format!(
        concat!(
            r#"{{"choices":[{{"content_filter_results":{withheld},"finish_reason":"content_filter","#,
            r#""index":0,"logprobs":null,"message":{{"annotations":[],"content":null,"refusal":null,"#,
            r#""role":"assistant"}}}}],"created":1741569952,"id":"{id}","model":"gpt-4o-mini-2024-07-18","#,
            r#""object":"chat.completion","prompt_filter_results":[{{"prompt_index":0,"#,
            r#""content_filter_results":{results}}}],"system_fingerprint":"fp_b705f0c291","#,
            r#""usage":{{"completion_tokens":12,"prompt_tokens":58,"total_tokens":70}}}}"#
        ),
        withheld = withheld,
        id = wire::ID,
        results = results,
    )
}

#[tokio::test]
async fn a_whole_reply_cut_at_the_token_limit_says_so_and_the_limit_was_sent() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(200, wire::completion_ending(CUT, "length", 40)));

    let reply = fake
        .client_with(|s| s.max_completion_tokens = Some(800))
        .complete(&limited(40))
        .await
        .expect("answered");

    assert_eq!(reply.text, CUT);
    assert_eq!(reply.cut_off, Some(CutOff::TokenLimit));
    let body = fake.requests()[0].json();
    assert_eq!(
        body["max_completion_tokens"],
        json!(40),
        "the agent's limit wins"
    );
}

#[tokio::test]
async fn a_finished_reply_is_not_marked() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(200, wire::completion("Listo", 9, 2)));

    let reply = fake
        .client()
        .complete(&crate::conversation())
        .await
        .expect("answered");

    assert_eq!(reply.cut_off, None);
}

#[tokio::test]
async fn a_streamed_reply_cut_at_the_token_limit_ends_with_the_cut_off_after_its_text() {
    let fake = FakeOpenAi::start().await;
    let mut writes = vec![wire::event(&wire::role_chunk())];
    writes.extend(
        [
            "Para pedir cita necesito",
            " su nombre completo,",
            " el día que prefiere y",
        ]
        .iter()
        .map(|p| wire::event(&wire::text_chunk(p))),
    );
    writes.push(wire::event(&wire::finish_chunk("length")));
    writes.push(wire::event(&wire::usage_chunk(64, 40)));
    writes.push(wire::DONE.to_string());
    fake.push(Reply::sse(writes));

    let items = drain(fake.client().stream(&limited(40)).await.expect("starts")).await;

    assert_eq!(text_of(&items), CUT);
    let cut = items
        .iter()
        .position(|i| *i == Ok(LlmChunk::CutOff(CutOff::TokenLimit)))
        .expect("the cut-off is reported");
    let last_text = items
        .iter()
        .rposition(|i| matches!(i, Ok(LlmChunk::Text(_))))
        .expect("text");
    assert!(cut > last_text, "{items:?}");
    assert!(items.iter().all(Result::is_ok), "{items:?}");
}

#[tokio::test]
async fn a_whole_reply_stopped_by_the_content_filter_says_so() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(200, filtered_completion()));

    let reply = fake
        .client()
        .complete(&crate::conversation())
        .await
        .expect("answered");

    assert_eq!(reply.text, "");
    assert_eq!(reply.cut_off, Some(CutOff::ContentFilter));
}

#[tokio::test]
async fn a_streamed_reply_stopped_by_the_content_filter_says_so_after_its_text() {
    let fake = FakeOpenAi::start().await;
    let mut writes = vec![wire::event(&wire::role_chunk())];
    writes.push(wire::event(&wire::text_chunk("Entiendo que")));
    writes.push(wire::event(&wire::finish_chunk("content_filter")));
    writes.push(wire::DONE.to_string());
    fake.push(Reply::sse(writes));

    let items = drain(
        fake.client_with(|s| s.stream_usage = false)
            .stream(&crate::conversation())
            .await
            .expect("starts"),
    )
    .await;

    assert_eq!(
        items,
        [
            Ok(LlmChunk::Text("Entiendo que".into())),
            Ok(LlmChunk::CutOff(CutOff::ContentFilter))
        ]
    );
}
