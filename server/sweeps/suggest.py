"""Cairn's Bayesian suggestion worker: Optuna's TPE asked for the next trials of a sweep.

Reads one JSON request on stdin, writes one JSON answer on stdout (Katib's suggestion-service shape, as a
process). The study is rebuilt in memory from the sweep's trials so far (optuna.trial.create_trial +
study.add_trial): finished ones with their objective, pruned ones with their intermediate values, failed ones,
and the ones still running (so that parallel asks spread out instead of landing on one point).

request:  {"space": [...], "direction": "minimize"|"maximize", "seed": int, "count": int,
           "trials": [{"params": {...}, "state": "complete"|"pruned"|"fail"|"running", "value": float|null,
                       "intermediate": {"<step>": float}}]}
answer:   {"suggestions": [{"<name>": value, ...}, ...]}  or  {"error": "..."} with exit code 1
"""
import json
import sys


def distributions(space):
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for p in space:
        kind = p["type"]
        if kind == "uniform":
            out[p["name"]] = FloatDistribution(p["low"], p["high"])
        elif kind == "log_uniform":
            out[p["name"]] = FloatDistribution(p["low"], p["high"], log=True)
        elif kind == "int":
            out[p["name"]] = IntDistribution(int(p["low"]), int(p["high"]))
        elif kind == "categorical":
            out[p["name"]] = CategoricalDistribution(p["values"])
    return out


def main():
    request = json.load(sys.stdin)
    import optuna
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = request["space"]
    dists = distributions(space)
    fixed = {p["name"]: p["value"] for p in space if p["type"] == "fixed"}
    states = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "fail": TrialState.FAIL, "running": TrialState.RUNNING}
    # The seed moves with the history, so a restarted driver asking again gets the same answer, and each ask a new one.
    sampler = optuna.samplers.TPESampler(seed=(int(request.get("seed", 0)) + len(request["trials"])) % (2**31), n_startup_trials=int(request.get("startup_trials", 5)), constant_liar=True)
    study = optuna.create_study(direction=request["direction"], sampler=sampler)
    for t in request["trials"]:
        params = {k: v for k, v in t["params"].items() if k in dists}
        if set(params) != set(dists):
            continue  # a trial from before the space changed (or a partial one): it says nothing about this space
        state = states[t["state"]]
        value = t.get("value")
        if state == TrialState.COMPLETE and value is None:
            state = TrialState.FAIL
        intermediate = {int(s): float(v) for s, v in (t.get("intermediate") or {}).items()}
        study.add_trial(create_trial(
            params=params, distributions=dists, state=state,
            value=float(value) if state == TrialState.COMPLETE else None,
            intermediate_values=intermediate,
        ))
    suggestions = []
    for _ in range(max(1, int(request.get("count", 1)))):
        trial = study.ask(dists)
        suggestions.append({**fixed, **trial.params})
    json.dump({"suggestions": suggestions}, sys.stdout)


if __name__ == "__main__":
    try:
        main()
    except ImportError as e:
        json.dump({"error": f"Optuna is not importable here ({e}); install it (pip install optuna) into this Python."}, sys.stdout)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 — the driver shows the message on the sweep
        json.dump({"error": f"{type(e).__name__}: {e}"}, sys.stdout)
        sys.exit(1)
