"""Cairn's parameter-importance worker: scikit-learn's RandomForestRegressor fitted on params -> objective.

Reads one JSON request on stdin, writes one JSON answer on stdout. The server encodes the params (numbers as
they are, categories as ordinal codes, a missing value as its own out-of-range code), so this only fits and reads
the forest's impurity-based feature_importances_ (mean decrease in impurity, normalised to sum to 1).

request:  {"columns": ["lr", "depth", ...], "rows": [[0.01, 3, ...], ...], "y": [0.71, ...], "seed": int}
answer:   {"importances": {"lr": 0.62, ...}, "library": "scikit-learn 1.x"}
          or {"missing": "scikit-learn"} with exit code 3, or {"error": "..."} with exit code 1
"""
import json
import sys


def main():
    try:
        import sklearn
        from sklearn.ensemble import RandomForestRegressor
    except ImportError:
        sys.stdout.write(json.dumps({"missing": "scikit-learn"}))
        return 3
    request = json.load(sys.stdin)
    rows = len(request["rows"])
    # Each tree sees a bootstrap sample of at most 2,000 runs: at 10,000 runs the fit stays a few seconds.
    forest = RandomForestRegressor(
        n_estimators=100,
        max_samples=min(rows, 2000) if rows > 2000 else None,
        random_state=int(request.get("seed", 0)),
        n_jobs=1,
    )
    forest.fit(request["rows"], request["y"])
    scores = [float(x) for x in forest.feature_importances_]
    sys.stdout.write(json.dumps({
        "importances": dict(zip(request["columns"], scores)),
        "library": "scikit-learn %s" % sklearn.__version__,
    }))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as err:  # the answer says why; the server turns it into a clear error
        sys.stdout.write(json.dumps({"error": "%s: %s" % (type(err).__name__, err)}))
        sys.exit(1)
