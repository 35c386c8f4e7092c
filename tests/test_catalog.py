"""The model catalog: names, aliases, raw ids, kinds — and every Bedrock id known to the pinned price map."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pennyworth.catalog import Catalog, load_catalog, read_catalog_file
from pennyworth.errors import InvalidRequest, ModelNotFound
from pennyworth.llm.providers.prices import bedrock_model_kind, cost_usd, known_bedrock_ids
from pennyworth.settings import Settings


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(Settings(), raw_id_lookup=bedrock_model_kind)


def test_every_bedrock_route_is_known_to_the_litellm_price_map() -> None:
    known = known_bedrock_ids()
    spec = read_catalog_file(None)
    stale = [e.model_id for e in spec.models if e.provider == "bedrock" and e.model_id not in known]
    assert stale == [], f"models.yaml routes to ids the pinned LiteLLM price map does not know: {stale}"


def test_every_fallback_bedrock_id_is_known_to_the_price_map(catalog: Catalog) -> None:
    known = known_bedrock_ids()
    for name in catalog.public_names():
        route = catalog.resolve(name)
        assert all(f.model_id in known for f in route.fallbacks if f.provider == "bedrock"), name


def test_models_that_cache_say_how(catalog: Catalog) -> None:
    for entry in read_catalog_file(None).models:
        assert ("prompt_cache" in entry.capabilities) == (entry.prompt_cache is not None), entry.name


def test_fallbacks_are_other_profiles_or_other_models(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        "  - {name: big, kind: chat, model_id: us.anthropic.claude-opus-5-5,"
        " fallbacks: [global.anthropic.claude-opus-5-5, small]}\n"
        "  - {name: small, kind: chat, model_id: us.anthropic.claude-sonnet-5-5}\n"
        "aliases: {opus: big}\n"
    )
    catalog = load_catalog(Settings(models_file=path))
    chain = [(r.name, r.model_id) for r in catalog.resolve("big").fallbacks]
    assert chain == [("big", "global.anthropic.claude-opus-5-5"), ("small", "us.anthropic.claude-sonnet-5-5")]
    assert [r.name for r in catalog.resolve("opus").fallbacks] == ["opus", "small"]
    path.write_text("models:\n  - {name: loop, kind: chat, model_id: a.b, fallbacks: [loop]}\n")
    with pytest.raises(ValueError, match="falls back to itself"):
        load_catalog(Settings(models_file=path))


def test_kinds_agree_with_the_price_map() -> None:
    for entry in read_catalog_file(None).models:
        assert bedrock_model_kind(entry.model_id) == entry.kind, entry.name


def test_current_claude_line_is_present(catalog: Catalog) -> None:
    for name in (
        "claude-sonnet-5-5",
        "claude-opus-5-5",
        "claude-haiku-5-5",
        "claude-sonnet-4-6",
        "claude-haiku-4-5",
    ):
        route = catalog.resolve(name, "chat")
        assert route.model_id.startswith("us.anthropic."), (
            "Claude routes through cross-region inference profiles"
        )


def test_aliases_follow_settings() -> None:
    settings = Settings(default_chat_model="nova-pro", default_embedding_model="cohere-embed-v3")
    catalog = load_catalog(settings, raw_id_lookup=None)
    assert catalog.resolve("gpt-4o").model_id == "us.amazon.nova-pro-v1:0"
    assert catalog.resolve("gpt-4o").name == "gpt-4o"
    assert catalog.resolve("text-embedding-3-small").model_id == "cohere.embed-english-v3"


def test_alias_to_unknown_default_is_a_startup_error() -> None:
    with pytest.raises(ValueError, match="alias target"):
        load_catalog(Settings(default_chat_model="no-such-model"))


def test_raw_ids_are_off_by_default(catalog: Catalog) -> None:
    with pytest.raises(ModelNotFound):
        catalog.resolve("us.amazon.nova-micro-v1:0")


def test_raw_ids_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "allow_raw_model_ids: true\n"
        "models:\n  - {name: nova-pro, kind: chat, model_id: 'us.amazon.nova-pro-v1:0'}\n"
    )
    catalog = load_catalog(
        Settings(models_file=path, default_chat_model="nova-pro"), raw_id_lookup=bedrock_model_kind
    )
    route = catalog.resolve("us.amazon.nova-micro-v1:0")
    assert (route.provider, route.model_id, route.kind, route.raw) == (
        "bedrock",
        "us.amazon.nova-micro-v1:0",
        "chat",
        True,
    )
    assert catalog.resolve("amazon.titan-embed-text-v1").kind == "embedding"
    known = catalog.resolve("us.amazon.nova-pro-v1:0")  # a catalog entry's own id: that entry
    assert (known.name, known.raw) == ("nova-pro", False)
    with pytest.raises(ModelNotFound):
        catalog.resolve("gpt-4o-2024-08-06")  # an OpenAI id, not a Bedrock one


def test_raw_ids_can_be_disallowed(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "allow_raw_model_ids: false\n"
        "models:\n  - {name: only, kind: chat, model_id: us.amazon.nova-pro-v1:0, capabilities: [tools]}\n"
    )
    catalog = load_catalog(Settings(models_file=path), raw_id_lookup=bedrock_model_kind)
    assert catalog.public_names() == ["only"]
    with pytest.raises(ModelNotFound):
        catalog.resolve("us.amazon.nova-pro-v1:0")


def test_unknown_and_wrong_kind(catalog: Catalog) -> None:
    with pytest.raises(ModelNotFound) as caught:
        catalog.resolve("claude-9")
    assert caught.value.status == 404 and caught.value.code == "model_not_found"
    with pytest.raises(InvalidRequest):
        catalog.resolve("titan-embed-text-v2", "chat")


def test_invalid_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  - {name: x, kind: audio, model_id: y}\n")
    with pytest.raises(ValueError, match=r"models\.yaml is invalid"):
        read_catalog_file(path)


def test_price_override_wins(tmp_path: Path) -> None:
    from pennyworth.llm.types import Usage

    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n  - {name: cheap, kind: chat, model_id: us.amazon.nova-pro-v1:0, "
        "input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}\n"
    )
    route = load_catalog(Settings(models_file=path)).resolve("cheap")
    assert cost_usd(route, Usage(prompt_tokens=1000, completion_tokens=500)) == pytest.approx(0.002)


def test_price_from_litellm_map(catalog: Catalog) -> None:
    from pennyworth.llm.types import Usage

    cost = cost_usd(catalog.resolve("claude-sonnet-5-5"), Usage(prompt_tokens=1000, completion_tokens=100))
    assert cost == pytest.approx(1000 * 2.2e-06 + 100 * 1.1e-05)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: old, kind: chat, model_id: m, successor: nowhere}", "successor 'nowhere' is not a catalog"),
        ("{name: old, kind: chat, model_id: m, after_end_of_life: serve_successor}", "names none"),
    ],
)
def test_end_of_life_entries_must_name_a_real_successor(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(f"models:\n  - {entry}\n")
    with pytest.raises(ValueError, match=message):
        load_catalog(Settings(models_file=path))


def test_end_of_life_is_the_deprecated_date_itself(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n  - {name: new, kind: chat, model_id: n}\n"
        "  - {name: old, kind: chat, model_id: o, deprecated: 2026-11-30, successor: new}\n"
    )
    spec = read_catalog_file(path)
    day_before = Catalog(spec, {}, None, today=lambda: date(2026, 11, 29))
    assert day_before.resolve("old").model_id == "o" and "old" in day_before.public_names()
    on_the_day = Catalog(spec, {}, None, today=lambda: date(2026, 11, 30))
    with pytest.raises(ModelNotFound, match="Use 'new' instead"):
        on_the_day.resolve("old")
    assert on_the_day.public_names() == ["new"]
