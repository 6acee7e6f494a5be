"""Push a written export to a Hugging Face Hub dataset repository (``augment export --push-to-hub``).

The export is written locally first and stays there whatever the push does. The files pushed
are the export itself (a file, or a ``datasets`` folder with its files under its name) and the
side files written with it (the trainer's file, the report). The token comes from huggingface_hub
itself (``HF_TOKEN`` or a saved ``hf auth login``), the Hub address from ``HF_ENDPOINT``; neither
is stored, logged or written anywhere by us.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from augment_core.errors import AugmentError, InputError

# What the Hub accepts as a repository id: an optional namespace, then a name.
_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")


@dataclass
class PushReport:
    """Where the files went."""

    repo: str
    url: str
    files: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"pushed {len(self.files)} files to the Hub dataset {self.repo}: {self.url}"]


def check_repo_id(repo: str) -> None:
    """InputError before anything is written when ``repo`` cannot be a Hub repository id."""
    if not _REPO_ID.match(repo) or ".." in repo or repo.endswith((".git", ".")):
        raise InputError(f"--push-to-hub '{repo}': expected a Hub dataset id such as 'user/name'")


def push_export(export: Path, side_files: list[Path], repo: str, *, private: bool = False) -> PushReport:
    """Create the dataset repository when missing and commit the export and its side files in one commit.

    Hub faults (no token, 401/403, 5xx after huggingface_hub's own retries, no network) become an
    AugmentError that names the repository and says the export is kept at its path.
    """
    import httpx2
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    check_repo_id(repo)
    operations = []
    if export.is_dir():
        for file in sorted(p for p in export.rglob("*") if p.is_file()):
            operations.append(CommitOperationAdd(f"{export.name}/{file.relative_to(export).as_posix()}", str(file)))
    else:
        operations.append(CommitOperationAdd(export.name, str(export)))
    operations += [CommitOperationAdd(side.name, str(side)) for side in side_files]
    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None)  # read now: the library reads it once, at import
    kept = f"the export is kept at {export}"
    try:
        url = api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
        repo = url.repo_id or repo  # a name without a namespace is the token owner's: the Hub says whose
        commit = api.create_commit(
            repo, operations, repo_type="dataset", commit_message=f"augment export: {export.name}"
        )
    except OfflineModeIsEnabled:
        raise AugmentError(f"--push-to-hub {repo}: HF_HUB_OFFLINE is set, so nothing goes to the Hub; {kept}") from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        said = exc.server_message or str(exc).splitlines()[0]
        why = "the token is missing or may not write there (set HF_TOKEN)" if status in (401, 403) else said
        raise AugmentError(f"--push-to-hub {repo}: the Hub refused the push: {why}; {kept}") from None
    except (httpx2.TransportError, OSError) as exc:  # no network, a refused connection, TLS
        raise AugmentError(f"--push-to-hub {repo}: the Hub cannot be reached ({exc}); {kept}") from None
    return PushReport(repo=repo, url=str(commit.repo_url or url), files=[op.path_in_repo for op in operations])
