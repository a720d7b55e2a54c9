"""Drives AMP Pool with the official OpenAI and Anthropic Python SDKs.

Run by the `official_sdks` integration test against a server and mock upstream it started:
AMP_POOL_URL is the server, AMP_POOL_TOKEN a client token. Any failed check raises.
"""

import json
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


def check_openai_responses_and_embeddings():
    client = openai.OpenAI(base_url=f"{BASE}/v1", api_key=TOKEN, max_retries=0)
    # What the mock's Responses answers report: input (of which cached), output (of which reasoning).
    usage = (300, 200, 50, 20)

    def usage_of(response):
        u = response.usage
        return (
            u.input_tokens,
            u.input_tokens_details.cached_tokens,
            u.output_tokens,
            u.output_tokens_details.reasoning_tokens,
        )

    response = client.responses.create(model="gpt-5", input="hi")
    assert response.output_text == TEXT, response
    assert response.status == "completed", response
    assert usage_of(response) == usage, response.usage

    events = list(client.responses.create(model="gpt-5", input="hi", stream=True))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == TEXT, text
    completed = [e.response for e in events if e.type == "response.completed"]
    assert len(completed) == 1 and completed[0].output_text == TEXT, completed
    assert usage_of(completed[0]) == usage, completed[0].usage

    # The SDK's stream helper assembles the final response from the events.
    with client.responses.stream(model="gpt-5", input="hi") as stream:
        final = stream.get_final_response()
    assert final.output_text == TEXT and usage_of(final) == usage, final

    # The SDK asks for base64 and decodes it back to floats.
    embedding = client.embeddings.create(model="text-embedding-3-small", input="hi")
    assert embedding.data[0].embedding == [0.25, -0.5, 1.0], embedding.data
    assert embedding.usage.prompt_tokens == 8 and embedding.usage.total_tokens == 8, embedding.usage


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


WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
ASK = {"role": "user", "content": "Weather in Paris?"}


def check_openai_through_anthropic():
    """`translated-gpt` is routed to an ANTHROPIC key: the OpenAI SDK must not notice."""
    client = openai.OpenAI(base_url=f"{BASE}/v1", api_key=TOKEN, max_retries=0)
    model = "translated-gpt"

    answer = client.chat.completions.create(model=model, messages=MESSAGES)
    assert answer.choices[0].message.content == TEXT, answer
    assert answer.model == model, answer.model
    # Anthropic's 50 input + 200 cache writes + 1000 cache reads, 20 output.
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (1250, 20), answer.usage
    assert answer.usage.prompt_tokens_details.cached_tokens == 1000, answer.usage

    chunks = list(
        client.chat.completions.create(
            model=model, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == TEXT, text
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1 and usage[0].prompt_tokens == 1250, usage

    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
    called = client.chat.completions.create(model=model, messages=[ASK], tools=tools)
    assert called.choices[0].finish_reason == "tool_calls", called
    call = called.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}, call

    pieces = {}
    for chunk in client.chat.completions.create(model=model, messages=[ASK], tools=tools, stream=True):
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            entry = pieces.setdefault(delta.index, {"id": None, "arguments": ""})
            entry["id"] = delta.id or entry["id"]
            entry["arguments"] += delta.function.arguments or ""
    assert list(pieces) == [0] and json.loads(pieces[0]["arguments"]) == {"city": "Paris"}, pieces

    answer = client.chat.completions.create(
        model=model,
        tools=tools,
        messages=[
            ASK,
            called.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "18C"},
        ],
    )
    assert answer.choices[0].message.content == TEXT, answer


def check_anthropic_through_openai():
    """`translated-claude` is routed to an OPENAI key: the Anthropic SDK must not notice."""
    client = anthropic.Anthropic(base_url=BASE, api_key=TOKEN, max_retries=0)
    model = "translated-claude"

    message = client.messages.create(model=model, max_tokens=64, messages=MESSAGES)
    assert message.content[0].text == TEXT and message.stop_reason == "end_turn", message
    # OpenAI's 120 prompt tokens of which 100 cached, 30 completion.
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (20, 100), message.usage

    with client.messages.stream(model=model, max_tokens=64, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == TEXT, text
    assert (final.usage.input_tokens, final.usage.output_tokens) == (20, 30), final.usage

    tools = [{"name": "get_weather", "input_schema": WEATHER}]
    with client.messages.stream(model=model, max_tokens=64, messages=[ASK], tools=tools) as stream:
        called = stream.get_final_message()
    assert called.stop_reason == "tool_use", called
    use = [b for b in called.content if b.type == "tool_use"][0]
    assert use.name == "get_weather" and use.input == {"city": "Paris"}, use

    answer = client.messages.create(
        model=model,
        max_tokens=64,
        tools=tools,
        messages=[
            ASK,
            {"role": "assistant", "content": [b.model_dump() for b in called.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "18C"}]},
        ],
    )
    assert answer.content[0].text == TEXT, answer


check_openai()
check_openai_responses_and_embeddings()
check_anthropic()
check_openai_through_anthropic()
check_anthropic_through_openai()
print("all SDK checks passed")
