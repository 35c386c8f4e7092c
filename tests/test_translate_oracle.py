"""Differential test: our OpenAI → Converse translation against LiteLLM's, over the corpus in
translate_corpus and translate_corpus_clients.

Every case runs through both; the bodies must be equal (as JSON) except where a difference is listed below,
with the JSON paths it touches and why it is intended. A difference not listed fails, and so does a listed
one that no longer happens — so a LiteLLM upgrade that changes its translation shows up here, path by path.
"""

from __future__ import annotations

import copy
import fnmatch
import json
from dataclasses import dataclass
from typing import Any

import pytest

from pennyworth.catalog import Catalog, load_catalog
from pennyworth.errors import InvalidRequest
from pennyworth.llm.bedrock.embeddings import embedding_bodies
from pennyworth.llm.bedrock.translate import translate_chat
from pennyworth.llm.types import ChatCall
from pennyworth.settings import Settings
from tests.support.litellm_oracle import litellm_converse, litellm_embedding_bodies
from tests.translate_corpus import Case
from tests.translate_corpus_clients import CORPUS

OURS_REFUSE = "<ours refuse>"  # we answer a 400 where LiteLLM translates
THEIRS_REFUSE = "<LiteLLM refuses>"  # LiteLLM raises where we translate


@dataclass(frozen=True)
class Difference:
    cases: tuple[str, ...]  # case-name patterns (fnmatch)
    paths: frozenset[str]  # JSON paths that differ, or one of the refusal markers
    reason: str


def differs(cases: tuple[str, ...], paths: set[str], reason: str) -> Difference:
    return Difference(cases, frozenset(paths), reason)


INTENDED = [
    differs(
        ("mid-system/*",),
        {"messages.2.content"},
        "A system message later in the conversation becomes user text as sent; LiteLLM prefixes it with an "
        "'Operator note' sentence of its own. The gateway adds no prompt text the client did not send.",
    ),
    differs(
        ("image-jpg/*",),
        {THEIRS_REFUSE},
        "'data:image/jpg' (which the API layer accepts) is sent as format jpeg; LiteLLM refuses the MIME subtype.",
    ),
    differs(
        ("file-pdf*", "file-csv/*"),
        {"messages.0.content.0.document.name"},
        "Document names: the file's own name, cleaned to what Bedrock allows (or a content hash), instead of "
        "LiteLLM's generated 'DocumentPDFmessages_<hash>_pdf'. The model sees a meaningful name.",
    ),
    differs(
        ("tool-none/*", "tool-round-none/*"),
        {THEIRS_REFUSE},
        "tool_choice 'none' (the Responses route passes it through): Converse has no 'none', so no tools are "
        "offered (or, when earlier turns used tools, the toolConfig stays with no choice); LiteLLM refuses.",
    ),
    differs(
        ("tool-required/llama*", "tool-named/llama*", "tool-required/mistral*", "tool-named/mistral*"),
        {OURS_REFUSE},
        "The catalog says Llama and Mistral take no forced tool choice (LiteLLM's own map: supports_tool_choice "
        "false): a clear 400 naming tool_choice, instead of forwarding toolChoice.any for Bedrock to refuse.",
    ),
    differs(
        (
            "reasoning-required-tool/claude-haiku-5-5",
            "reasoning-required-tool/claude-sonnet-4-6",
            "reasoning-required-tool/nova-2-lite",
        ),
        {"toolConfig.toolChoice.any", "toolConfig.toolChoice.auto"},
        "A model that reasons chooses its tools: forced tool choice becomes auto whenever reasoning is on. "
        "LiteLLM does so only for thinking type 'enabled', not adaptive thinking (which Claude refuses with "
        "forced tool use just the same) nor Nova's reasoningConfig (the same rule applied conservatively).",
    ),
    differs(
        ("thinking-replay/*",),
        {"messages.1.content"},
        "redacted_thinking blocks are replayed as reasoningContent.redactedContent (Bedrock needs the turn's "
        "thinking blocks unmodified); LiteLLM drops them.",
    ),
    differs(
        ("reasoning/nova-pro",),
        {OURS_REFUSE},
        "reasoning_effort on a model the catalog gives no reasoning style: a 400; LiteLLM sends Claude's "
        "thinking field to Nova Pro.",
    ),
    differs(
        ("cache-5m/nova-2-lite", "cache-1h/nova-2-lite"),
        {"messages.0.content", "messages.1.content", "system", "toolConfig.tools"},
        "Cache points only where the catalog gives the model a prompt_cache spec (capability and minimum "
        "prefix); Nova 2 Lite has none there yet, so marks are dropped; LiteLLM's map says it caches.",
    ),
    differs(
        ("cache-tool-result/nova-2-lite",),
        {"messages.2.content"},
        "As above: no cache point after a marked tool result on Nova 2 Lite.",
    ),
    differs(
        ("openai-sdk-developer-raw/*",),
        {THEIRS_REFUSE},
        "A 'developer' message is a system message (the API layer renames it anyway); LiteLLM refuses the role.",
    ),
]


def diff_paths(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """The JSON paths where two documents differ (a whole list when their lengths differ)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found: list[str] = []
        for key in sorted(set(ours) | set(theirs)):
            here = f"{path}.{key}" if path else str(key)
            found += diff_paths(ours[key], theirs[key], here) if key in ours and key in theirs else [here]
        return found
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [
            p
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
            for p in diff_paths(a, b, f"{path}.{i}")
        ]
    return [] if ours == theirs else [path]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(Settings())


def observed_difference(case: Case, catalog: Catalog) -> set[str]:
    route = catalog.resolve(case.model, "chat")
    theirs = litellm_converse(ChatCall(route, copy.deepcopy(case.messages), copy.deepcopy(case.params)))
    try:
        ours = translate_chat(ChatCall(route, copy.deepcopy(case.messages), copy.deepcopy(case.params)))
    except InvalidRequest:
        return set() if theirs.body is None else {OURS_REFUSE}
    if theirs.body is None:
        return {THEIRS_REFUSE}
    found = set(diff_paths(json.loads(json.dumps(ours.body)), json.loads(json.dumps(theirs.body))))
    if "outputConfig" not in ours.body and ours.json_mode != theirs.json_mode:
        found.add("<json_mode>")
    return found


def intended_for(name: str) -> Difference | None:
    matches = [d for d in INTENDED if any(fnmatch.fnmatchcase(name, pattern) for pattern in d.cases)]
    assert len(matches) <= 1, f"{name} matches several listed differences"
    return matches[0] if matches else None


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_translation_matches_litellm_or_the_difference_is_listed(case: Case, catalog: Catalog) -> None:
    found = observed_difference(case, catalog)
    intended = intended_for(case.name)
    assert found == (set(intended.paths) if intended else set()), (
        f"{case.name}: differs from LiteLLM at {sorted(found)}"
        + (f"; listed: {sorted(intended.paths)} ({intended.reason})" if intended else "; nothing listed")
    )


def test_every_listed_difference_names_corpus_cases() -> None:
    names = [c.name for c in CORPUS]
    for difference in INTENDED:
        assert any(fnmatch.fnmatchcase(n, p) for n in names for p in difference.cases), difference.reason


def test_corpus_covers_every_chat_model_of_the_catalog(catalog: Catalog) -> None:
    routes = [catalog.resolve(n) for n in catalog.public_names() if not n.startswith("gpt")]
    chat = {r.name for r in routes if r.kind == "chat" and r.wire == "converse"}  # (Pegasus has its own body)
    assert chat <= {c.model for c in CORPUS}


@pytest.mark.parametrize("model", ["titan-embed-text-v2", "cohere-embed-v3", "cohere-embed-multilingual-v3"])
@pytest.mark.parametrize("dimensions", [None, 256])
def test_embedding_bodies_match_litellm(model: str, dimensions: int | None, catalog: Catalog) -> None:
    route = catalog.resolve(model, "embedding")
    inputs = ["first text", "second text"]
    if "cohere" in model and dimensions:
        with pytest.raises(InvalidRequest):
            embedding_bodies(route, inputs, dimensions)
        return
    assert embedding_bodies(route, inputs, dimensions) == litellm_embedding_bodies(route, inputs, dimensions)


def test_cohere_batches_of_96_where_litellm_sends_one(catalog: Catalog) -> None:
    """Intended difference: Cohere on Bedrock embeds at most 96 texts per call; LiteLLM sends them all at once."""
    route = catalog.resolve("cohere-embed-v3", "embedding")
    inputs = [f"t{i}" for i in range(200)]
    ours = embedding_bodies(route, inputs, None)
    (theirs,) = litellm_embedding_bodies(route, inputs, None)
    assert [len(b["texts"]) for b in ours] == [96, 96, 8]
    assert [t for b in ours for t in b["texts"]] == theirs["texts"]
