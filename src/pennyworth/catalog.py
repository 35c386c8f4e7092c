"""The model catalog: which public model names exist and where each one routes.

Loaded once from `models.yaml` (shipped in the package, or the file named by `PENNYWORTH_MODELS_FILE`).
Resolves a name a client sent — a catalog name, an alias such as `gpt-4o`, or (when allowed) a raw Bedrock
model / inference-profile id — to a `ModelRoute`. Unknown names raise `ModelNotFound`. An entry past its
end-of-life date (`deprecated`) never reaches the provider: it resolves to its `successor` (the route says
which model it stands in for) or raises `ModelNotFound` naming the successor, as the entry's
`after_end_of_life` says; `/v1/models` no longer lists it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pennyworth.errors import InvalidRequest, ModelNotFound
from pennyworth.settings import Settings

_DATE_SUFFIX = re.compile(r"-\d{8}$")
ModelKind = Literal["chat", "embedding"]
CacheTtl = Literal["5m", "1h"]
Capability = Literal[
    "tools",
    "vision",
    "reasoning",
    "json_schema",
    "prompt_cache",
    "dimensions",
    "documents",
    "video",
    "s3_media",
]
Wire = Literal["converse", "pegasus"]
# Given a raw provider id, the kind the price map records for it (None when the id is unknown there).
RawIdLookup = Callable[[str], ModelKind | None]
ReasoningStyle = Literal["budget", "adaptive", "nova"]
Effort = Literal["low", "medium", "high"]
_DEFAULT_BUDGETS: dict[Effort, int] = {"low": 1024, "medium": 2048, "high": 4096}


class ConverseFacts(BaseModel):
    """What a Bedrock chat model accepts on Converse: read by the request translation (llm/bedrock/translate).

    The defaults describe a model that takes every OpenAI parameter, forces tools when asked, has no
    reasoning configuration and gets structured output as a forced tool (raw ids get these defaults).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    reasoning: ReasoningStyle | None = None  # budget: thinking.budget_tokens; adaptive: output_config.effort
    thinking_budgets: dict[Effort, int] = Field(default_factory=lambda: dict(_DEFAULT_BUDGETS))
    thinking_always_on: bool = False  # refuses disabled thinking (and so any forced tool choice)
    forced_tool_choice: bool = True  # accepts toolChoice any / tool
    sampling_params: bool = True  # accepts temperature / top_p other than 1
    structured_output: Literal["native", "tool"] = (
        "tool"  # outputConfig.textFormat, or the json_tool_call tool
    )
    cache_ttl: bool = False  # cachePoint takes a ttl (5m / 1h)
    parallel_tool_config: bool = False  # Claude's tool_choice.disable_parallel_tool_use
    strict_tools: bool = False  # toolSpec.strict (and the schema's additionalProperties) is honoured


class PromptCacheSpec(BaseModel):
    """A model's prompt caching on Bedrock: the shortest prefix it caches, and the TTLs it accepts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_tokens: int = Field(gt=0)
    ttls: frozenset[CacheTtl] = frozenset({"5m"})
    tools: bool = True  # whether the model takes a cache point in `toolConfig.tools` (Nova does not)


class CatalogEntry(BaseModel):
    """One `models:` item of models.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    kind: ModelKind
    provider: str = "bedrock"
    model_id: str = Field(min_length=1)
    capabilities: frozenset[Capability] = frozenset()
    wire: Wire = "converse"
    api_key_secret_arn: str | None = None
    api_base: str | None = None
    input_cost_per_token: float | None = Field(default=None, ge=0)
    output_cost_per_token: float | None = Field(default=None, ge=0)
    deprecated: date | None = None  # end of life: from this day on, requests never reach the provider
    successor: str | None = None  # the catalog model that replaces it
    after_end_of_life: Literal["serve_successor", "refuse"] = "refuse"
    betas: frozenset[str] | None = None  # Claude: anthropic-beta flags Bedrock takes for this model
    prompt_cache: PromptCacheSpec | None = None
    fallbacks: tuple[str, ...] = ()  # Bedrock ids (other profiles of this model) or catalog names, in order
    converse: ConverseFacts = Field(default_factory=ConverseFacts)


class CatalogFile(BaseModel):
    """The whole of models.yaml."""

    model_config = ConfigDict(extra="forbid")

    allow_raw_model_ids: bool = False
    models: list[CatalogEntry]
    aliases: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class ModelRoute:
    """Where a request for `name` goes."""

    name: str
    kind: ModelKind
    provider: str
    model_id: str
    capabilities: frozenset[str] = field(default_factory=frozenset)
    wire: str = "converse"  # Bedrock chat: Converse, or a model's own InvokeModel shape (pegasus)
    api_key_secret_arn: str | None = None
    api_base: str | None = None
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    betas: frozenset[str] | None = None
    retired: str | None = None  # the retired catalog model this route serves in place of
    prompt_cache: PromptCacheSpec | None = None
    fallbacks: tuple[ModelRoute, ...] = ()  # where to go when this route is throttled, in order
    raw: bool = False  # a provider id outside the catalog (allow-lists match it only by its exact id)
    converse: ConverseFacts = field(default_factory=ConverseFacts, hash=False)

    @classmethod
    def from_entry(
        cls, entry: CatalogEntry, public_name: str | None = None, fallbacks: tuple[ModelRoute, ...] = ()
    ) -> ModelRoute:
        return cls(
            name=public_name or entry.name,
            kind=entry.kind,
            provider=entry.provider,
            model_id=entry.model_id,
            capabilities=frozenset(entry.capabilities),
            wire=entry.wire,
            api_key_secret_arn=entry.api_key_secret_arn,
            api_base=entry.api_base,
            input_cost_per_token=entry.input_cost_per_token,
            output_cost_per_token=entry.output_cost_per_token,
            betas=entry.betas,
            prompt_cache=entry.prompt_cache,
            fallbacks=fallbacks,
            converse=entry.converse,
        )


class Catalog:
    """Name → route lookups over a loaded models.yaml."""

    def __init__(
        self,
        spec: CatalogFile,
        defaults: dict[str, str],
        raw_id_lookup: RawIdLookup | None,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._entries = {entry.name: entry for entry in spec.models}
        if len(self._entries) != len(spec.models):
            raise ValueError("models.yaml: duplicate model names")
        for entry in spec.models:
            if entry.successor is not None and entry.successor not in self._entries:
                raise ValueError(f"models.yaml: successor {entry.successor!r} is not a catalog model")
            if entry.after_end_of_life == "serve_successor" and entry.successor is None:
                raise ValueError(f"models.yaml: {entry.name!r} serves a successor but names none")
        self._today = today
        self._aliases = {
            alias: self._alias_target(target, defaults) for alias, target in spec.aliases.items()
        }
        self._raw_id_lookup = raw_id_lookup if spec.allow_raw_model_ids else None
        self._fallbacks = {entry.name: self._fallback_routes(entry) for entry in spec.models}

    def _fallback_routes(self, entry: CatalogEntry) -> tuple[ModelRoute, ...]:
        """An entry's failover chain: a catalog name is that model's route; anything else is another Bedrock id
        (an inference profile) for the same model, under the same public name and prices."""
        routes = []
        for target in entry.fallbacks:
            if target == entry.name or target == entry.model_id:
                raise ValueError(f"models.yaml: {entry.name} falls back to itself")
            if target in self._entries:
                routes.append(ModelRoute.from_entry(self._entries[target]))
            else:
                routes.append(ModelRoute.from_entry(entry.model_copy(update={"model_id": target})))
        return tuple(routes)

    def _alias_target(self, target: str, defaults: dict[str, str]) -> str:
        if target.startswith("default:"):
            target = defaults[target.removeprefix("default:")]
        if target not in self._entries:
            raise ValueError(f"models.yaml: alias target {target!r} is not a catalog model")
        return target

    def public_names(self) -> list[str]:
        """Every name `/v1/models` shows: current catalog names (not past end of life), then aliases."""
        current = [name for name, entry in self._entries.items() if not self._retired(entry)]
        return [*current, *self._aliases]

    def _retired(self, entry: CatalogEntry) -> bool:
        return entry.deprecated is not None and self._today() >= entry.deprecated

    def _fallbacks_named(self, entry: CatalogEntry, public_name: str | None) -> tuple[ModelRoute, ...]:
        """The entry's fallbacks; another profile of the same model keeps the name (alias) the client used."""
        fallbacks = self._fallbacks[entry.name]
        if public_name is None:
            return fallbacks
        return tuple(replace(r, name=public_name) if r.name == entry.name else r for r in fallbacks)

    def _route(self, entry: CatalogEntry, public_name: str | None = None) -> ModelRoute:
        """The entry's route; past its end of life, its successor's (or ModelNotFound naming the successor)."""
        if not self._retired(entry):
            return ModelRoute.from_entry(entry, public_name, self._fallbacks_named(entry, public_name))
        if entry.after_end_of_life == "serve_successor" and entry.successor is not None:
            successor = self._route(self._entries[entry.successor])
            return replace(successor, retired=entry.name)
        instead = f" Use '{entry.successor}' instead." if entry.successor else ""
        raise ModelNotFound(
            f"The model '{entry.name}' reached its end of life on {entry.deprecated}.{instead}",
            param="model",
            code="model_retired",
        )

    def resolve(self, name: str, kind: ModelKind | None = None) -> ModelRoute:
        """The route for `name`; raises ModelNotFound, or InvalidRequest when the kind does not fit."""
        route = self._lookup(name)
        if route is None:
            raise ModelNotFound(
                f"The model '{name}' does not exist or you do not have access to it.", param="model"
            )
        if kind is not None and route.kind != kind:
            raise InvalidRequest(
                f"The model '{name}' is a {route.kind} model and cannot be used for {kind}.", param="model"
            )
        return route

    def resolve_claude(self, name: str, families: dict[str, str], default: str) -> tuple[ModelRoute, bool]:
        """A route for a Claude model name as Claude Code sends it (dated or not); True when it fell back.

        Known names (with or without a `-YYYYMMDD` suffix) resolve as usual; an unknown `claude-*` name goes to
        the catalog model configured for its family (opus, sonnet, haiku), or to `default`.
        """
        for candidate in (name, _DATE_SUFFIX.sub("", name)):
            route = self._lookup(candidate)
            if route is not None:
                return route, False
        if not name.startswith("claude"):
            raise ModelNotFound(
                f"The model '{name}' does not exist or you do not have access to it.", param="model"
            )
        target = next((model for family, model in families.items() if family in name), default)
        return self.resolve(target, "chat"), True

    def _lookup(self, name: str) -> ModelRoute | None:
        if name in self._entries:
            return self._route(self._entries[name])
        if name in self._aliases:
            return self._route(self._entries[self._aliases[name]], public_name=name)
        if self._raw_id_lookup is not None:
            # a catalog model by its provider id is that catalog entry, for allow-lists too
            entry = next((e for e in self._entries.values() if e.model_id == name), None)
            if entry is not None:
                return self._route(entry)
            kind = self._raw_id_lookup(name)
            if kind is not None:
                return ModelRoute(name=name, kind=kind, provider="bedrock", model_id=name, raw=True)
        return None


def read_catalog_file(path: Path | None) -> CatalogFile:
    """Parse and validate models.yaml (the packaged one when `path` is None)."""
    text = path.read_text() if path else resources.files("pennyworth").joinpath("models.yaml").read_text()
    try:
        return CatalogFile.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        raise ValueError(f"models.yaml is invalid: {exc}") from exc


def load_catalog(settings: Settings, raw_id_lookup: RawIdLookup | None = None) -> Catalog:
    """The catalog the settings ask for."""
    defaults = {
        "chat": settings.default_chat_model,
        "fast_chat": settings.default_fast_chat_model,
        "embedding": settings.default_embedding_model,
    }
    return Catalog(read_catalog_file(settings.models_file), defaults, raw_id_lookup)
