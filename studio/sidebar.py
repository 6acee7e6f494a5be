"""The sidebar, drawn once by app.py: dataset picker, provider and model, what is available."""

from __future__ import annotations

import streamlit as st

from studio import url_state
from studio.common import DATASET_KEY, dataset_counts, fmt_int, get_store, secret
from studio.identity import draw_identity
from studio.providers import KEY_VARIABLES, ProviderChoice, provider_status

DATASET_PARAM = "dataset"
PROVIDER_KEY = "provider"
MODEL_KEY = "model"
BASE_URL_KEY = "base_url"
TYPED_KEY = "typed_key_{}"  # a key typed in the sidebar: session state only, never stored

# What the bundled model is, said wherever it can be chosen (benchmarks/bench_local_augmenters.py
# measured the seconds per item on this 2-core machine).
BUNDLED_MODEL_NOTE = (
    "**local** is the bundled SmolLM2-135M-Instruct: 135M parameters, a demo that needs nothing set up. "
    "Its paraphrases are weak, many replies fail, and an item takes 4 to 10 s on a 2-core machine. "
    "For real work set `ANTHROPIC_API_KEY` (or enter a key below), or choose **openai** with the base URL "
    "of an OpenAI-compatible server such as Ollama, vLLM or llama.cpp's server."
)


def uses_bundled_model(name: str | None, model: str | None) -> bool:
    """Whether a provider choice runs the bundled model (local, no .gguf of one's own)."""
    return name == "local" and not (model or "").strip()


def draw_sidebar() -> None:
    store = get_store()
    with st.sidebar:
        names = store.dataset_names()
        # The address names the dataset (?dataset=NAME): a link or a reload opens that one, on any page.
        url_state.restore(DATASET_KEY, DATASET_PARAM, url_state.one_of(names))
        if st.session_state.get(DATASET_KEY) not in names:
            st.session_state.pop(DATASET_KEY, None)
        if names:
            st.selectbox("Dataset", names, key=DATASET_KEY)
            url_state.publish(DATASET_PARAM, [st.session_state[DATASET_KEY]])
            dataset = store.get_dataset(st.session_state[DATASET_KEY])
            if dataset is not None:
                counts = dataset_counts(dataset)  # the pages take the same, counted once per store version
                d = counts.decisions
                st.caption(
                    f"{dataset.schema} · {fmt_int(counts.examples)} examples · "
                    f"{fmt_int(counts.candidates)} candidates · {fmt_int(d.approved)} approved · "
                    f"{fmt_int(d.rejected)} rejected"
                )
        else:
            st.caption("No dataset stored yet.")

        st.divider()
        typed = {name: st.session_state.get(TYPED_KEY.format(name)) or "" for name in KEY_VARIABLES}
        base_url = (st.session_state.get(BASE_URL_KEY) or "").strip() or None
        status = provider_status(typed_keys=typed, base_url=base_url)
        usable = [name for name, reason in status.items() if not reason]
        if usable:
            if st.session_state.get(PROVIDER_KEY) not in usable:
                st.session_state.pop(PROVIDER_KEY, None)
            st.selectbox("LLM provider", usable, key=PROVIDER_KEY)
        else:
            st.warning("No LLM provider is available; the templates augmenter still works.")
        for name, reason in status.items():
            if reason:
                st.caption(f":gray[~~{name}~~: {reason}]")
        st.text_input("Model", key=MODEL_KEY, placeholder="provider default",
                      help="a model name, or for local the path of a .gguf file")
        if uses_bundled_model(st.session_state.get(PROVIDER_KEY), st.session_state.get(MODEL_KEY)):
            st.caption(BUNDLED_MODEL_NOTE)
        with st.expander("API key and server"):
            for name, variable in KEY_VARIABLES.items():
                st.text_input(
                    f"{name.capitalize()} key for this session",
                    type="password",
                    key=TYPED_KEY.format(name),
                    help=f"Kept in this browser session only: never written to the database, logs or exports. "
                    f"To keep one, set {variable} in the environment or .streamlit/secrets.toml.",
                )
            st.text_input("OpenAI-compatible base URL", key=BASE_URL_KEY, placeholder="http://127.0.0.1:8000/v1",
                          help="vLLM, Ollama, a llama.cpp server or OpenAI itself (provider openai)")
        st.caption(f"Store: `{store.engine.url.render_as_string(hide_password=True)}`")
        draw_identity()


def provider_choice() -> ProviderChoice | None:
    """The provider, model and key picked in the sidebar (None when no provider is usable)."""
    name = st.session_state.get(PROVIDER_KEY)
    if not name:
        return None
    model = (st.session_state.get(MODEL_KEY) or "").strip() or None
    variable = KEY_VARIABLES.get(name)
    key = (st.session_state.get(TYPED_KEY.format(name)) or None) or (secret(variable) if variable else None)
    base_url = (st.session_state.get(BASE_URL_KEY) or "").strip() or None
    return ProviderChoice(name=name, model=model, base_url=base_url if name == "openai" else None, api_key=key)
