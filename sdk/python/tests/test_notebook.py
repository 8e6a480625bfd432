"""examples/notebooks/quickstart.ipynb executed cell by cell (nbclient, a real IPython kernel) against the session's
server as an ML engineer: any cell that raises fails the test."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Callable, List

import nbclient
import nbformat
import pytest

from cairn import Cairn

from conftest import REPO

NOTEBOOK = REPO / "examples" / "notebooks" / "quickstart.ipynb"


def outputs(nb: nbformat.NotebookNode) -> List[str]:
    texts: List[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                texts.append(out["text"])
            elif "data" in out:
                texts.append(str(out["data"].get("text/plain", "")))
    return texts


def test_the_quickstart_notebook_runs_end_to_end(server_url: str, token_for: Callable[..., str], lead: Cairn,
                                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    monkeypatch.setenv("CAIRN_URL", server_url)
    monkeypatch.setenv("CAIRN_TOKEN", token_for("mle@example.com", "churn"))
    monkeypatch.setenv("CAIRN_CONFIG", str(tmp_path / "no-config.json"))
    monkeypatch.setenv("QUICKSTART_EXPERIMENT", f"quickstart-{suffix}")
    monkeypatch.setenv("QUICKSTART_MODEL", f"quickstart-{suffix}")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "commit the notebook without outputs"
    # Raises CellExecutionError (with the cell and its traceback) on the first cell that fails.
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    text = "\n".join(outputs(nb))
    assert "mle@example.com (ml_engineer) in team churn" in text
    assert text.count("exit code 0") == 2  # both training jobs' logs streamed to their end
    assert f"stable endpoint: {server_url}/serve/churn/quickstart-{suffix}/staging" in text
    assert "p(churns)" in text
    # What the notebook left behind is real: a registered version serving staging, and a lead's pending request.
    model = lead.models.get(f"quickstart-{suffix}")
    assert [v["version"] for v in model.versions] == [1]
    pending = [a for a in lead.approvals.list(status="pending") if a.data.get("model") == f"quickstart-{suffix}"]
    assert len(pending) == 1 and pending[0].data.get("version") == 1
    staging = [d for d in lead.deployments.list(environment="staging") if d.data.get("model") == f"quickstart-{suffix}"]
    assert [d.status for d in staging] == ["ready"]
    for d in staging:
        d.stop()
