"""Drives AMP Pool with the official OpenAI and Anthropic Python SDKs.

Run by the `official_sdks` integration test against a server and mock upstream it started:
AMP_POOL_URL is the server, AMP_POOL_TOKEN a client token. Any failed check raises.
"""

import os

import anthropic
import openai

BASE = os.environ["AMP_POOL_URL"]
TOKEN = os.environ["AMP_POOL_TOKEN"]
TEXT = "Hello from the mock"
MESSAGES = [{"role": "user", "content": "hi"}]


def check_openai():
    client = openai.OpenAI(base_url=f"{BASE}/v1", api_key=TOKEN, max_retries=0)

    answer = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert answer.choices[0].message.content == TEXT, answer
    assert answer.usage.prompt_tokens == 120 and answer.usage.completion_tokens == 30, answer.usage
    assert answer.usage.prompt_tokens_details.cached_tokens == 100, answer.usage

    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == TEXT, text
    assert all(c.usage is None for c in chunks), "no usage chunk was asked for"

    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    usage = [c.usage for c in stream if c.usage is not None]
    assert len(usage) == 1 and usage[0].completion_tokens == 30, usage

    models = [m.id for m in client.models.list()]
    assert "gpt-4o" in models, models

    bad = openai.OpenAI(base_url=f"{BASE}/v1", api_key="ap-wrong", max_retries=0)
    try:
        bad.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        raise AssertionError("a wrong token was accepted")
    except openai.AuthenticationError as error:
        assert error.status_code == 401
        assert error.code == "invalid_api_key" and error.type == "authentication_error", error.body
        assert error.message.endswith("invalid access token"), error.message

    try:
        client.chat.completions.create(model=42, messages=MESSAGES)
        raise AssertionError("a numeric model was accepted")
    except openai.BadRequestError as error:
        assert error.param == "model" and error.code == "invalid_model", error.body


def check_anthropic():
    client = anthropic.Anthropic(base_url=BASE, api_key=TOKEN, max_retries=0)

    message = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES)
    assert message.content[0].text == TEXT, message
    assert message.usage.cache_read_input_tokens == 1000, message.usage

    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == TEXT, text
    assert final.usage.output_tokens == 20 and final.usage.input_tokens == 50, final.usage

    count = client.messages.count_tokens(model="claude-sonnet-4-5", messages=MESSAGES)
    assert count.input_tokens == 42, count

    bad = anthropic.Anthropic(base_url=BASE, api_key="ap-wrong", max_retries=0)
    try:
        bad.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=MESSAGES)
        raise AssertionError("a wrong token was accepted")
    except anthropic.AuthenticationError as error:
        assert error.status_code == 401
        assert error.body["error"]["type"] == "authentication_error", error.body


check_openai()
check_anthropic()
print("all SDK checks passed")
