"""The inbox page in headless Chromium against the real binary (started by run.sh).

A person signs in with a staff key, sees a red-flagged conversation arrive without reloading,
opens it, takes it over, answers as a person (stored with agent `human:…`), hands it back to the
bot, sends a bot's failed WhatsApp reply again and sees its status follow live, and chats in
the playground until the final event; a wrong key shows an error.
"""

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

BASE = os.environ["INBOX_BASE"]
ADMIN = os.environ["INBOX_ADMIN_TOKEN"]
DB = os.environ["INBOX_DB"]
TWILIO_TOKEN = os.environ["INBOX_TWILIO_TOKEN"]
SHOTS = os.environ.get("SCREENSHOTS")
RED_FLAG = "I have crushing chest pain and can't breathe"
WAIT = 15_000
AXE = Path(__file__).resolve().parents[2] / "adapters/inbox/node_modules/axe-core/axe.min.js"


def call(method: str, path: str, key: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def chat(key: str, user: str, content: str) -> dict:
    status, body = call("POST", "/chat/", key, {"content": content, "user_id": user})
    assert status == 200, body
    return body


def whatsapp(number: str, name: str, body: str) -> None:
    """A WhatsApp message as the provider delivers it: a signed form post to /webhook."""
    sid = "SM" + hashlib.sha256(f"{number}{body}".encode()).hexdigest()[:32]
    signed_post("/webhook", {
        "MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32,
        "From": f"whatsapp:{number}", "To": "whatsapp:+14155238886", "Body": body,
        "ProfileName": name, "WaId": number.lstrip("+"), "NumMedia": "0", "MessageType": "text",
        "SmsStatus": "received", "NumSegments": "1", "ApiVersion": "2010-04-01",
    })


def signed_post(path: str, params: dict[str, str]) -> None:
    """A form post signed as the provider signs its webhooks."""
    url = BASE + path
    signed = url + "".join(k + params[k] for k in sorted(params))
    signature = base64.b64encode(
        hmac.new(TWILIO_TOKEN.encode(), signed.encode(), hashlib.sha1).digest()
    ).decode()
    req = urllib.request.Request(url, data=urllib.parse.urlencode(params).encode(), method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    req.add_header("X-Twilio-Signature", signature)
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name))


@pytest.fixture(scope="session")
def key() -> str:
    """A key that may use the inbox and chat in the playground."""
    status, body = call("POST", "/keys", ADMIN, {"name": "front desk", "scopes": ["admin", "chat"]})
    assert status == 201, body
    return body["key"]


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        # Debian's Chromium; running as root in CI needs --no-sandbox.
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    yield page
    context.close()
    assert not errors, f"script errors: {errors}"


def sign_in(page: Page, key: str) -> None:
    page.goto(BASE + "/inbox")
    page.get_by_label("Staff key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("tab", name="Conversations")).to_be_visible()
    expect(page.locator("#live")).to_have_text("Live", timeout=WAIT)


def test_a_wrong_key_shows_an_error_not_a_blank_page(page: Page):
    page.goto(BASE + "/inbox")
    page.get_by_label("Staff key").fill("wak_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text="not accepted")).to_be_visible()
    expect(page.get_by_label("Staff key")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('inbox.key')") is None


def test_a_red_flag_arrives_live_and_a_person_takes_over_answers_and_releases(page: Page, key: str):
    whatsapp("+14155550142", "María López", "Hola, ¿puedo pedir cita para una limpieza el martes?")
    chat(key, "tom", "What are your opening hours on Saturday?")
    sign_in(page, key)
    expect(page.get_by_test_id("conversation-row")).to_have_count(2)
    page.evaluate("window.__sameDocument = true")

    chat(key, "jonas", "I want to talk to a real person please")
    flagged = chat(key, "ana", RED_FLAG)

    row = page.get_by_test_id("conversation-row").filter(has_text="Red flag")
    expect(row).to_be_visible(timeout=WAIT)
    expect(row).to_contain_text("chat_ana")
    expect(page.get_by_test_id("conversation-row").first).to_contain_text("Red flag")
    expect(page.get_by_role("alert").filter(has_text="needs a person now")).to_be_visible()
    expect(page.get_by_test_id("conversation-row").filter(has_text="chat_jonas")).to_be_visible()
    maria = page.get_by_test_id("conversation-row").filter(has_text="María López")
    expect(maria).to_contain_text("WhatsApp")
    expect(maria).not_to_contain_text("5550142")
    assert page.evaluate("window.__sameDocument") is True, "the list updated without a reload"
    shot(page, "inbox-list.png")

    row.click()
    expect(page.locator("#conv-title")).to_have_text("chat_ana")
    messages = page.get_by_test_id("message")
    expect(messages.first).to_contain_text(RED_FLAG)
    expect(page.locator("#conv-flag")).to_contain_text("Red flag")
    expect(page.locator('[data-agent="guardrail"]')).to_contain_text("Guardrail")

    page.get_by_role("button", name="Take over").click()
    expect(page.locator("#conv-meta")).to_contain_text("a person holds it")
    expect(page.get_by_role("button", name="Take over")).to_be_disabled()

    page.get_by_label("Signed as").fill("Dr Ruiz")
    box = page.get_by_role("textbox", name="Reply as a person")
    box.fill("This is Dr Ruiz from the clinic. Please call 112 now; I am calling you as well.")
    box.press("Enter")
    mine = page.locator('[data-agent="human:Dr Ruiz"]')
    expect(mine).to_be_visible(timeout=WAIT)
    expect(mine).to_contain_text("Dr Ruiz (person)")
    expect(box).to_have_value("")
    shot(page, "inbox-conversation.png")

    with sqlite3.connect(DB) as db:
        stored = db.execute(
            "SELECT agent FROM messages WHERE body LIKE 'This is Dr Ruiz%' AND direction = 'outgoing'"
        ).fetchall()
    assert stored == [("human:Dr Ruiz",)]
    conversation = flagged["conversation_id"]
    status, detail = call("GET", f"/conversations/{conversation}", key)
    assert status == 200
    assert detail["conversation"]["state"] == "waiting_for_human"
    assert detail["messages"][0]["agent"] == "human:Dr Ruiz"

    page.get_by_role("button", name="Release to the bot").click()
    expect(page.locator("#conv-meta")).to_contain_text("the bot answers")
    expect(page.get_by_role("button", name="Take over")).to_be_enabled()
    status, detail = call("GET", f"/conversations/{conversation}", key)
    assert detail["conversation"]["state"] == "bot"


def stored(sql: str, *args) -> list[tuple]:
    with sqlite3.connect(DB) as db:
        return db.execute(sql, args).fetchall()


def settled(sql: str, *args) -> list[tuple]:
    """The rows `sql` finds, once it finds any (the worker answers in the background)."""
    for _ in range(150):
        rows = stored(sql, *args)
        if rows:
            return rows
        time.sleep(0.1)
    raise AssertionError(f"nothing found by {sql}")


def test_a_bots_failed_whatsapp_reply_is_sent_again_and_its_status_follows_live(page: Page, key: str):
    whatsapp("+14155550177", "Pedro Gómez", "¿Tienen cita libre el jueves por la tarde?")
    [(job, reply)] = settled(
        "SELECT j.id, j.reply_message_id FROM inbound_jobs j JOIN users u ON u.id = j.user_id "
        "WHERE u.phone_number = '+14155550177' AND j.status = 'done'"
    )
    # The provider refused it for good before any part went out: the job failed with it.
    with sqlite3.connect(DB) as db:
        db.execute("DELETE FROM send_attempts WHERE job_id = ?", (job,))
        db.execute("DELETE FROM deliveries WHERE message_id = ?", (reply,))
        db.execute(
            "UPDATE messages SET delivery_status = 'failed', provider_message_id = NULL, "
            "error = 'send refused (63016): outside the reply window' WHERE id = ?",
            (reply,),
        )
        db.execute(
            "UPDATE inbound_jobs SET status = 'failed', last_error = 'send refused (63016)' "
            "WHERE id = ?",
            (job,),
        )
    sign_in(page, key)
    page.get_by_test_id("conversation-row").filter(has_text="Pedro Gómez").click()
    bots = page.locator('[data-agent="anna"]')
    status = bots.get_by_test_id("status")
    expect(status).to_contain_text("Failed — send refused (63016)", timeout=WAIT)

    bots.get_by_role("button", name="Send again").click()

    expect(status).to_have_text("Queued", timeout=WAIT)
    expect(bots.get_by_role("button", name="Send again")).to_have_count(0)
    [(sid,)] = settled(
        "SELECT m.provider_message_id FROM messages m JOIN inbound_jobs j ON j.reply_message_id = m.id "
        "WHERE m.id = ? AND j.status = 'done' AND m.provider_message_id IS NOT NULL",
        reply,
    )
    assert stored("SELECT COUNT(*) FROM send_attempts WHERE job_id = ?", job) == [(1,)], "sent once"
    page.evaluate("window.__sameDocument = true")
    signed_post("/webhook/status", {
        "MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32,
        "To": "whatsapp:+14155550177",
    })
    expect(status).to_have_text("Delivered", timeout=WAIT)
    assert page.evaluate("window.__sameDocument") is True, "the status updated without a reload"


def test_the_playground_streams_a_reply_until_the_final_event(page: Page, key: str):
    sign_in(page, key)
    page.get_by_role("tab", name="Playground").click()
    page.get_by_label("Test user id").fill("playground-test")
    box = page.get_by_role("textbox", name="Message")
    box.fill("Hello! Can I book an appointment for a check-up next week?")
    box.press("Enter")
    expect(page.locator("[data-final=true]")).to_be_visible(timeout=WAIT)
    reply = page.get_by_test_id("pg-reply")
    assert reply.inner_text().strip(), "tokens arrived"
    expect(page.get_by_test_id("pg-note").last).to_contain_text("Final event")
    expect(page.locator("#pg-status")).to_contain_text("final received")
    events = int(page.locator("#pg-status").inner_text().split()[0])
    assert events > 2, "the reply came as several events, not one"
    shot(page, "inbox-playground.png")


def test_a_phone_screen_shows_the_list_then_the_conversation(browser, key: str):
    context = browser.new_context(viewport={"width": 390, "height": 780}, is_mobile=True)
    page = context.new_page()
    sign_in(page, key)
    rows = page.get_by_test_id("conversation-row")
    expect(rows.first).to_be_visible()
    rows.first.click()
    expect(page.locator("#conv-title")).to_be_visible()
    expect(page.locator("#list")).to_be_hidden()
    page.get_by_role("button", name="← Conversations").click()
    expect(page.locator("#list")).to_be_visible()
    context.close()


def test_the_keyboard_reaches_and_opens_a_conversation(page: Page, key: str):
    sign_in(page, key)
    page.locator("#list").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#conv")).to_be_visible()
    expect(page.locator("#reply-text")).to_be_focused()


def test_a_thousand_conversations_scroll_with_few_rows_in_the_page(page: Page, key: str):
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: chat(key, f"bulk-{n:04}", f"Question number {n}"), range(1000)))
    sign_in(page, key)
    expect(page.locator("#list-count")).to_contain_text("+ conversations")
    listing = page.locator("#list")
    for _ in range(40):
        listing.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_timeout(100)
        if "+" not in page.locator("#list-count").inner_text():
            break
    expect(page.locator("#list-count")).not_to_contain_text("+")
    shown = int(page.locator("#list-count").inner_text().split()[0])
    assert shown >= 1000, shown
    expect(page.get_by_test_id("conversation-row").filter(has_text="chat_bulk-0000")).to_be_visible()
    assert page.get_by_test_id("conversation-row").count() < 60, "only the visible rows are in the page"


def violations(page: Page) -> list[dict]:
    """What axe-core finds against WCAG 2.1 A and AA on the page as it stands."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => (await axe.run(document, {
             runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"],
           })).violations.map(v => ({
             id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
           }))"""
    )


def test_every_view_meets_wcag_aa_labels_and_contrast(browser, key: str):
    # The checker is injected as a script, which the page's policy would refuse.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.goto(BASE + "/inbox")
    found = {"sign-in": violations(page)}
    page.get_by_label("Staff key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("conversation-row").first).to_be_visible()
    page.get_by_test_id("conversation-row").filter(has_text="Red flag").first.click()
    expect(page.get_by_test_id("message").first).to_be_visible()
    found["conversation"] = violations(page)
    page.get_by_role("tab", name="Playground").click()
    found["playground"] = violations(page)
    context.close()
    assert found == {"sign-in": [], "conversation": [], "playground": []}
