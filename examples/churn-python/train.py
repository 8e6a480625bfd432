#!/usr/bin/env python3
"""Churn example in Python, standard library only.

Logistic regression by mini-batch gradient descent on churn.csv (next to this file), logged to Cairn (or any
MLflow tracking server) over the MLflow REST API with urllib: params, per-epoch train_loss / val_loss /
val_accuracy / val_auc, the dataset, and the model as model/model.onnx (a hand-encoded ONNX graph, the same
shape as the Node example's) plus model/weights.json and an MLmodel file.

Environment (the Cairn job launcher sets all of these):
  MLFLOW_TRACKING_URI    e.g. http://localhost:3000. Unset: train offline and write the outputs to ./outputs/.
  MLFLOW_TRACKING_TOKEN  a Cairn API token, sent as "Authorization: Bearer ...".
  MLFLOW_RUN_ID          log into this existing run. Unset: create a run.
  MLFLOW_EXPERIMENT_ID   experiment for a new run; or MLFLOW_EXPERIMENT_NAME (created when missing).
"""
import argparse
import csv
import hashlib
import json
import math
import os
import random
import signal
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_NAME = "examples/churn-python/train.py"
DEFAULT_EXPERIMENT_NAME = "churn-examples"

# The model takes 11 floats per customer in this order: ordinal codes for categoricals (lowest to highest churn
# risk), 0/1 for booleans. The same encoding as examples/churn/train.mjs.
FEATURES = [
    ("tenure_months", "long", None),
    ("monthly_charges", "double", None),
    ("total_charges", "double", None),
    ("contract", "string", {"Two year": 0, "One year": 1, "Month-to-month": 2}),
    ("payment_method", "string", {"Credit card (automatic)": 0, "Bank transfer (automatic)": 1, "Mailed check": 2, "Electronic check": 3}),
    ("internet_service", "string", {"None": 0, "DSL": 1, "Fiber optic": 2}),
    ("tech_support", "boolean", None),
    ("senior_citizen", "boolean", None),
    ("support_tickets_90d", "long", None),
    ("avg_monthly_usage_gb", "double", None),
    ("paperless_billing", "boolean", None),
]
LABEL = "churned"
CLASSES = ["retained", "churned"]


def parse_args(argv):
    env = os.environ
    p = argparse.ArgumentParser(description="Train a churn logistic regression and log it to Cairn / MLflow.")
    p.add_argument("--epochs", type=int, default=int(env.get("EPOCHS", 20)))
    p.add_argument("--lr", type=float, default=float(env.get("LR", 0.05)))
    p.add_argument("--batch-size", type=int, default=int(env.get("BATCH_SIZE", 64)))
    p.add_argument("--l2", type=float, default=float(env.get("L2", 0.001)))
    p.add_argument("--seed", type=int, default=int(env.get("SEED", 42)))
    p.add_argument("--val-fraction", type=float, default=float(env.get("VAL_FRACTION", 0.2)))
    p.add_argument("--epoch-delay-ms", type=int, default=int(env.get("EPOCH_DELAY_MS", 300)))
    p.add_argument("--threshold", type=float, default=float(env.get("THRESHOLD", 0.5)))
    p.add_argument("--data", default=env.get("DATA", os.path.join(HERE, "churn.csv")))
    p.add_argument("--run-name", default=env.get("RUN_NAME"))
    p.add_argument("--output-dir", default=env.get("OUTPUT_DIR", "outputs"))
    a = p.parse_args(argv)
    if a.epochs < 1 or a.batch_size < 1 or a.lr <= 0 or a.l2 < 0 or not 0.05 <= a.val_fraction <= 0.9 or a.epoch_delay_ms < 0:
        p.error("need --epochs >= 1, --batch-size >= 1, --lr > 0, --l2 >= 0, 0.05 <= --val-fraction <= 0.9, --epoch-delay-ms >= 0")
    return a


# ---------------------------------------------------------------------------------------------------------------
# Data and model


def load_churn(path):
    def boolean(v, where):
        s = v.strip().lower()
        if s in ("true", "1", "yes"):
            return 1.0
        if s in ("false", "0", "no"):
            return 0.0
        raise ValueError(f"{where}: expected a boolean, got {v!r}")

    X, y = [], []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in [n for n, _, _ in FEATURES] + [LABEL] if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} has no column(s) {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            vec = []
            for name, kind, codes in FEATURES:
                v, where = row[name], f"line {line}, {name}"
                if codes is not None:
                    if v.strip() not in codes:
                        raise ValueError(f"{where}: unknown category {v!r}")
                    vec.append(float(codes[v.strip()]))
                elif kind == "boolean":
                    vec.append(boolean(v, where))
                else:
                    vec.append(float(v))
            X.append(vec)
            y.append(int(boolean(row[LABEL], f"line {line}, {LABEL}")))
    return X, y


def _numeric_profile(name, values):
    """Bin edges at the deciles (repeats merged) and counts per bin."""
    ordered = sorted(values)

    def quantile(q):
        at = (len(ordered) - 1) * q
        lo, hi = int(at), min(int(at) + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (at - lo)

    edges = []
    for i in range(11):
        e = round(quantile(i / 10), 6)
        if not edges or e > edges[-1]:
            edges.append(e)
    if len(edges) == 1:
        edges.append(edges[0] + 1)
    counts = [0] * (len(edges) - 1)
    for v in values:
        b = 0
        while b < len(counts) - 1 and v >= edges[b + 1]:
            b += 1
        counts[b] += 1
    return {"name": name, "kind": "numeric", "bin_edges": edges, "counts": counts}


def reference_profile(rows, probabilities):
    """Cairn's drift reference (reference/profile.json, "cairn.reference_profile/v1"; see Cairn's README, "Drift
    monitoring"): one entry per input column in order (numbers as bins, codes and booleans as counts) and the
    churn probability the model gives the training rows."""
    features = []
    for j, (name, kind, codes) in enumerate(FEATURES):
        values = [r[j] for r in rows]
        if codes or kind == "boolean":
            counts = {}
            for v in values:
                key = str(int(v)) if float(v).is_integer() else str(v)
                counts[key] = counts.get(key, 0) + 1
            features.append({"name": name, "kind": "categorical", "counts": counts})
        else:
            features.append(_numeric_profile(name, values))
    return {"format": "cairn.reference_profile/v1", "rows": len(rows), "features": features, "prediction": _numeric_profile("churn_probability", list(probabilities))}


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def predict(w, b, rows):
    return [sigmoid(b + sum(wj * xj for wj, xj in zip(w, r))) for r in rows]


def log_loss(p, y):
    eps = 1e-12
    return -sum(math.log(min(1 - eps, max(eps, q))) if t else math.log(min(1 - eps, max(eps, 1 - q))) for q, t in zip(p, y)) / len(y)


def roc_auc(scores, y):
    """Area under the ROC curve via the rank statistic (Mann-Whitney U); ties share their average rank."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    positives, rank_sum, i = 0, 0.0, 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            if y[order[k]]:
                positives += 1
                rank_sum += rank
        i = j + 1
    negatives = len(y) - positives
    if not positives or not negatives:
        return float("nan")
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def classification(p, y, threshold):
    tp = sum(1 for q, t in zip(p, y) if q >= threshold and t)
    fp = sum(1 for q, t in zip(p, y) if q >= threshold and not t)
    fn = sum(1 for q, t in zip(p, y) if q < threshold and t)
    tn = len(y) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": (tp + tn) / len(y), "precision": precision, "recall": recall, "f1": f1, "confusion": [[tn, fp], [fn, tp]]}


# ---------------------------------------------------------------------------------------------------------------
# ONNX, encoded by hand (protobuf wire format): MatMul -> Add -> Sigmoid -> Concat[1 - p, p], input `features`
# float32 [N, 11], output `probabilities` float32 [N, 2], as server/registry/onnx-graphs.ts builds it.


def _varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field, wire):
    return _varint(field << 3 | wire)


def _int(field, n):
    return _key(field, 0) + _varint(n)


def _bytes(field, data):
    data = data.encode() if isinstance(data, str) else data
    return _key(field, 2) + _varint(len(data)) + data


def _tensor(name, dims, values):  # TensorProto: dims=1, data_type=2 (FLOAT=1), float_data=4 (packed), name=8
    packed = struct.pack(f"<{len(values)}f", *values)
    return b"".join(_int(1, d) for d in dims) + _int(2, 1) + _bytes(4, packed) + _bytes(8, name)


def _value_info(name, dims):  # ValueInfoProto{name=1, type=2{tensor_type=1{elem_type=1, shape=2{dim=1{value=1|param=2}}}}}
    shape = b"".join(_bytes(1, _bytes(2, d) if isinstance(d, str) else _int(1, d)) for d in dims)
    return _bytes(1, name) + _bytes(2, _bytes(1, _int(1, 1) + _bytes(2, shape)))


def _node(op, inputs, outputs, name, axis=None):  # NodeProto: input=1, output=2, name=3, op_type=4, attribute=5
    attr = _bytes(5, _bytes(1, "axis") + _int(3, axis) + _int(20, 2)) if axis is not None else b""  # AttributeProto INT
    return b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs) + _bytes(3, name) + _bytes(4, op) + attr


def logistic_onnx(weights, bias):
    graph = b"".join([
        _bytes(1, _node("MatMul", ["features", "W"], ["xw"], "matmul")),
        _bytes(1, _node("Add", ["xw", "B"], ["logits"], "add")),
        _bytes(1, _node("Sigmoid", ["logits"], ["p1"], "sigmoid")),
        _bytes(1, _node("Sub", ["one", "p1"], ["p0"], "complement")),
        _bytes(1, _node("Concat", ["p0", "p1"], ["probabilities"], "concat", axis=1)),
        _bytes(2, "churn_logistic_regression"),
        _bytes(5, _tensor("W", [len(weights), 1], weights)),
        _bytes(5, _tensor("B", [1], [bias])),
        _bytes(5, _tensor("one", [1], [1.0])),
        _bytes(11, _value_info("features", ["N", len(weights)])),
        _bytes(12, _value_info("probabilities", ["N", 2])),
    ])
    # ModelProto: ir_version=1, producer_name=2, producer_version=3, doc_string=6, graph=7, opset_import=8{version=2}
    return _int(1, 8) + _bytes(2, "cairn-examples") + _bytes(3, "1") + _bytes(6, "Churn logistic regression (Python example)") + _bytes(7, graph) + _bytes(8, _int(2, 13))


# ---------------------------------------------------------------------------------------------------------------
# MLflow REST client (urllib)


class MlflowError(Exception):
    def __init__(self, message, status=None, code=None):
        super().__init__(message)
        self.status, self.code = status, code


class Mlflow:
    def __init__(self, uri, token):
        self.base = uri.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method, url, body=None, content_type=None, attempts=4):
        for attempt in range(1, attempts + 1):
            headers = dict(self.headers)
            if content_type:
                headers["Content-Type"] = content_type
            req = urllib.request.Request(url, data=body, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=30) as res:
                    text = res.read().decode()
                    return json.loads(text) if text else {}
            except urllib.error.HTTPError as e:
                text = e.read().decode(errors="replace")
                if (e.code == 429 or e.code >= 500) and attempt < attempts:
                    time.sleep(0.25 * 2 ** attempt)
                    continue
                try:
                    code = json.loads(text).get("error_code")
                except ValueError:
                    code = None
                raise MlflowError(f"{method} {url[len(self.base):]} -> {e.code}: {text[:500]}", e.code, code) from None
            except (urllib.error.URLError, OSError) as e:
                if attempt >= attempts:
                    raise MlflowError(f"{method} {url}: {e}") from None
                time.sleep(0.25 * 2 ** attempt)

    def api(self, method, endpoint, payload):
        url = f"{self.base}/api/2.0/mlflow/{endpoint}"
        if method == "GET":
            return self.request("GET", f"{url}?{urllib.parse.urlencode(payload)}")
        return self.request(method, url, json.dumps(payload).encode(), "application/json")

    def put_artifact(self, artifact_uri, rel_path, data, content_type):
        if not artifact_uri.startswith("mlflow-artifacts:"):
            raise MlflowError(f"the run's artifact URI {artifact_uri} is not served by the tracking server (mlflow-artifacts:/...)")
        root = artifact_uri[len("mlflow-artifacts:"):].lstrip("/").rstrip("/")
        quoted = urllib.parse.quote(f"{root}/{rel_path}")
        self.request("PUT", f"{self.base}/api/2.0/mlflow-artifacts/artifacts/{quoted}", data, content_type)


def resolve_run(client, run_name):
    env = os.environ
    if env.get("MLFLOW_RUN_ID"):
        info = client.api("GET", "runs/get", {"run_id": env["MLFLOW_RUN_ID"]})["run"]["info"]
        return info
    experiment_id = env.get("MLFLOW_EXPERIMENT_ID")
    if not experiment_id:
        name = env.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT_NAME
        try:
            experiment_id = client.api("GET", "experiments/get-by-name", {"experiment_name": name})["experiment"]["experiment_id"]
        except MlflowError as e:
            if e.code != "RESOURCE_DOES_NOT_EXIST" and e.status != 404:
                raise
            experiment_id = client.api("POST", "experiments/create", {"name": name})["experiment_id"]
            print(f"created experiment {name!r} (id {experiment_id})")
    name = run_name or "churn-logreg-py-" + datetime.now().strftime("%Y%m%d-%H%M%S")
    tags = [{"key": "mlflow.runName", "value": name}, {"key": "mlflow.source.name", "value": SOURCE_NAME}, {"key": "mlflow.source.type", "value": "LOCAL"}]
    run = client.api("POST", "runs/create", {"experiment_id": str(experiment_id), "run_name": name, "start_time": now_ms(), "tags": tags})
    return run["run"]["info"]


def now_ms():
    return int(time.time() * 1000)


# ---------------------------------------------------------------------------------------------------------------


def main(argv):
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    client = Mlflow(uri, os.environ.get("MLFLOW_TRACKING_TOKEN")) if uri else None
    run = None
    state = {"done": False}

    def end(status):
        # Ends our run, or the launcher's MLFLOW_RUN_ID when we failed before reading it.
        run_id = run["run_id"] if run else os.environ.get("MLFLOW_RUN_ID")
        if client and run_id and not state["done"]:
            state["done"] = True
            try:
                client.api("POST", "runs/update", {"run_id": run_id, "status": status, "end_time": now_ms()})
            except MlflowError as e:
                print(f"could not mark the run {status}: {e}", file=sys.stderr)

    def on_signal(signum, _frame):
        print(f"signal {signum}: stopping", file=sys.stderr, flush=True)
        end("KILLED")
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)

    try:
        args = parse_args(argv)
        if client:
            run = resolve_run(client, args.run_name)
            run_id = run["run_id"]
            print(f"logging to run {run_id} in experiment {run['experiment_id']} at {client.base}", flush=True)
            client.api("POST", "runs/update", {"run_id": run_id, "status": "RUNNING"})

        X, y = load_churn(args.data)
        rng = random.Random(args.seed)
        order = list(range(len(y)))
        rng.shuffle(order)
        n_val = round(len(order) * args.val_fraction)
        val_idx, train_idx = order[:n_val], order[n_val:]
        d = len(FEATURES)
        mean = [sum(X[i][j] for i in train_idx) / len(train_idx) for j in range(d)]
        std = [math.sqrt(sum((X[i][j] - mean[j]) ** 2 for i in train_idx) / len(train_idx)) or 1.0 for j in range(d)]
        scale = lambda r: [(v - m) / s for v, m, s in zip(r, mean, std)]  # noqa: E731
        z_train, y_train = [scale(X[i]) for i in train_idx], [y[i] for i in train_idx]
        z_val, y_val = [scale(X[i]) for i in val_idx], [y[i] for i in val_idx]
        churn_rate = sum(y) / len(y)
        print(f"data: {len(y)} rows ({len(train_idx)} train / {len(val_idx)} validation), churn rate {churn_rate:.3f}", flush=True)

        if client:
            params = {
                "model_type": "logistic_regression", "optimizer": "sgd", "penalty": "l2", "epochs": args.epochs,
                "learning_rate": args.lr, "batch_size": args.batch_size, "regularization": args.l2, "seed": args.seed,
                "val_fraction": args.val_fraction, "threshold": args.threshold, "scaler": "standard",
                "feature_set": "churn_v1_ordinal", "n_features": d, "train_rows": len(train_idx), "val_rows": len(val_idx),
            }
            tags = {"mlflow.source.name": SOURCE_NAME, "mlflow.source.type": "LOCAL", "example": "churn-python", "framework": f"python-{sys.version.split()[0]}"}
            client.api("POST", "runs/log-batch", {
                "run_id": run_id,
                "params": [{"key": k, "value": str(v)} for k, v in params.items()],
                "tags": [{"key": k, "value": v} for k, v in tags.items()],
            })
            log_datasets(client, run_id, args.data, train_idx, val_idx)

        # Mini-batch gradient descent on the mean log loss + (l2 / 2)|w|^2, starting at the base rate.
        w = [0.0] * d
        b = math.log(churn_rate / (1 - churn_rate))
        batch_order = list(range(len(train_idx)))
        last = {}
        for epoch in range(args.epochs):
            started = time.time()
            rng.shuffle(batch_order)
            for start in range(0, len(batch_order), args.batch_size):
                batch = batch_order[start:start + args.batch_size]
                grad, gb = [0.0] * d, 0.0
                for i in batch:
                    r = z_train[i]
                    err = sigmoid(b + sum(wj * xj for wj, xj in zip(w, r))) - y_train[i]
                    for j in range(d):
                        grad[j] += err * r[j]
                    gb += err
                w = [wj - args.lr * (g / len(batch) + args.l2 * wj) for wj, g in zip(w, grad)]
                b -= args.lr * gb / len(batch)
            p_train, p_val = predict(w, b, z_train), predict(w, b, z_val)
            last = {
                "train_loss": log_loss(p_train, y_train),
                "train_accuracy": classification(p_train, y_train, args.threshold)["accuracy"],
                "val_loss": log_loss(p_val, y_val),
                "val_accuracy": classification(p_val, y_val, args.threshold)["accuracy"],
                "val_auc": roc_auc(p_val, y_val),
            }
            stamp = now_ms()
            print(f"epoch {epoch + 1:3d}/{args.epochs}  " + "  ".join(f"{k}={v:.4f}" for k, v in last.items()) + f"  ({(time.time() - started) * 1000:.0f} ms)", flush=True)
            if client:
                client.api("POST", "runs/log-batch", {"run_id": run_id, "metrics": [{"key": k, "value": v, "timestamp": stamp, "step": epoch} for k, v in last.items()]})
            if args.epoch_delay_ms and epoch < args.epochs - 1:
                time.sleep(args.epoch_delay_ms / 1000)

        p_val = predict(w, b, z_val)
        cls = classification(p_val, y_val, args.threshold)
        finals = {"accuracy": cls["accuracy"], "auc": roc_auc(p_val, y_val), "precision": cls["precision"], "recall": cls["recall"], "f1": cls["f1"], "log_loss": log_loss(p_val, y_val)}
        print("validation: " + "  ".join(f"{k}={v:.4f}" for k, v in finals.items()), flush=True)

        # Fold the standardization into weights over the raw encoded features.
        raw_w = [wj / s for wj, s in zip(w, std)]
        raw_b = b - sum(wj * m / s for wj, m, s in zip(w, mean, std))
        onnx_bytes = logistic_onnx(raw_w, raw_b)
        run_id = run["run_id"] if run else "offline"
        files = model_files(run_id, raw_w, raw_b, mean, std, w, b, onnx_bytes, [X[i] for i in val_idx[:5]])
        # The training reference for drift monitoring (the deployment page's Monitoring section).
        profile = reference_profile([X[i] for i in train_idx], predict(w, b, z_train))
        files.append(("reference/profile.json", json.dumps(profile).encode() + b"\n", "application/json"))
        files.append(("metrics.json", json.dumps({
            "run_id": run_id, "model": "logistic_regression",
            "metrics": {k: round(v, 5) for k, v in {**finals, **{f"final_{k}": v for k, v in last.items()}}.items()},
            "params": {k.replace("-", "_"): v for k, v in vars(args).items() if k not in ("data", "output_dir", "run_name")},
            "confusion_matrix": {"labels": CLASSES, "rows": "actual", "columns": "predicted", "values": cls["confusion"]},
        }, indent=2).encode() + b"\n", "application/json"))

        if not client:
            out = os.path.abspath(args.output_dir)
            for rel, data, _ in files:
                os.makedirs(os.path.dirname(os.path.join(out, rel)), exist_ok=True)
                with open(os.path.join(out, rel), "wb") as f:
                    f.write(data)
            print(f"MLFLOW_TRACKING_URI is not set: wrote {len(files)} files to {out}")
            return 0

        stamp = now_ms()
        client.api("POST", "runs/log-batch", {"run_id": run_id, "metrics": [{"key": k, "value": v, "timestamp": stamp, "step": args.epochs - 1} for k, v in finals.items()]})
        for rel, data, content_type in files:
            client.put_artifact(run["artifact_uri"], rel, data, content_type)
        print("uploaded " + ", ".join(rel for rel, _, _ in files), flush=True)
        model_json = {
            "run_id": run_id, "artifact_path": "model", "utc_time_created": utc_created(), "flavors": FLAVORS,
            "signature": SIGNATURE, "model_uuid": hashlib.sha256(f"{run_id}/model".encode()).hexdigest()[:32],
            "mlflow_version": "2.16.2", "model_size_bytes": len(onnx_bytes),
        }
        client.api("POST", "runs/log-model", {"run_id": run_id, "model_json": json.dumps(model_json)})
        end("FINISHED")
        print(f"run {run_id} FINISHED; register it from runs:/{run_id}/model", flush=True)
        return 0
    except SystemExit as e:
        if e.code not in (0, None):  # argparse errors; --help exits 0
            end("FAILED")
        raise
    except BaseException:
        end("FAILED")
        raise


FLAVORS = {
    "onnx": {"code": None, "data": "model.onnx", "onnx_version": "1.16.1", "providers": ["CPUExecutionProvider"]},
    "python_function": {"data": "model.onnx", "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}, "loader_module": "mlflow.onnx", "python_version": "3.11.9"},
}
SIGNATURE = {
    "inputs": json.dumps([{"type": "tensor", "name": "features", "tensor-spec": {"dtype": "float32", "shape": [-1, len(FEATURES)]}}]),
    "outputs": json.dumps([{"type": "tensor", "name": "probabilities", "tensor-spec": {"dtype": "float32", "shape": [-1, len(CLASSES)]}}]),
    "params": None,
}


def utc_created():
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def yaml_quote(s):
    return "'" + str(s).replace("'", "''") + "'"


def model_files(run_id, raw_w, raw_b, mean, std, w, b, onnx_bytes, example_rows):
    mlmodel = "\n".join([
        "artifact_path: model",
        "flavors:",
        "  onnx:",
        "    code: null",
        "    data: model.onnx",
        "    onnx_version: 1.16.1",
        "    providers:",
        "    - CPUExecutionProvider",
        "  python_function:",
        "    data: model.onnx",
        "    env:",
        "      conda: conda.yaml",
        "      virtualenv: python_env.yaml",
        "    loader_module: mlflow.onnx",
        "    python_version: 3.11.9",
        "metadata:",
        f"  feature_order: {yaml_quote(json.dumps([n for n, _, _ in FEATURES]))}",
        "  encoding: 'categoricals as ordinal codes, booleans 0/1, all as float32 in feature_order; see weights.json'",
        f"  classes: {yaml_quote(json.dumps(CLASSES))}",
        "mlflow_version: 2.16.2",
        f"model_uuid: {hashlib.sha256(f'{run_id}/model'.encode()).hexdigest()[:32]}",
        f"run_id: {run_id}",
        "saved_input_example_info:",
        "  artifact_path: input_example.json",
        "  format: tf-serving",
        "  type: ndarray",
        "signature:",
        f"  inputs: {yaml_quote(SIGNATURE['inputs'])}",
        f"  outputs: {yaml_quote(SIGNATURE['outputs'])}",
        "  params: null",
        f"utc_time_created: '{utc_created()}'",
        "",
    ])
    weights = {
        "features": [{"name": n, "type": t, **({"codes": c} if c else {"codes": {"false": 0, "true": 1}} if t == "boolean" else {})} for n, t, c in FEATURES],
        "classes": CLASSES,
        "raw": {"weights": dict(zip([n for n, _, _ in FEATURES], raw_w)), "bias": raw_b},
        "standardized": {"weights": dict(zip([n for n, _, _ in FEATURES], w)), "bias": b, "mean": mean, "std": std},
        "predict": "P(churned) = sigmoid(bias + sum(weights[f] * x[f])) over the raw encoded features",
    }
    text = lambda s: s.encode()  # noqa: E731
    return [
        ("model/model.onnx", onnx_bytes, "application/octet-stream"),
        ("model/MLmodel", text(mlmodel), "text/plain"),
        ("model/weights.json", text(json.dumps(weights, indent=2) + "\n"), "application/json"),
        ("model/input_example.json", text(json.dumps({"inputs": example_rows}) + "\n"), "application/json"),
        ("model/conda.yaml", text("channels:\n- conda-forge\ndependencies:\n- python=3.11.9\n- pip\n- pip:\n  - mlflow==2.16.2\n  - onnx==1.16.1\n  - onnxruntime\nname: mlflow-env\n"), "text/plain"),
        ("model/python_env.yaml", text("python: 3.11.9\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n"), "text/plain"),
        ("model/requirements.txt", text("mlflow==2.16.2\nonnx==1.16.1\nonnxruntime\n"), "text/plain"),
    ]


def log_datasets(client, run_id, path, train_idx, val_idx):
    columns = [{"type": t, "name": n, "required": True} for n, t, _ in FEATURES] + [{"type": "boolean", "name": LABEL, "required": True}]
    schema = json.dumps({"mlflow_colspec": columns})
    with open(path, "rb") as f:
        file_digest = hashlib.sha256(f.read()).hexdigest()

    def dataset(name, idx, context):
        digest = hashlib.sha256((file_digest + ",".join(map(str, idx))).encode()).hexdigest()[:8]
        profile = json.dumps({"num_rows": len(idx), "num_elements": len(idx) * len(columns), "file_rows": len(train_idx) + len(val_idx)})
        return {"tags": [{"key": "mlflow.data.context", "value": context}],
                "dataset": {"name": name, "digest": digest, "source_type": "local", "source": "examples/churn-python/churn.csv", "schema": schema, "profile": profile}}

    client.api("POST", "runs/log-inputs", {"run_id": run_id, "datasets": [dataset("churn-train", train_idx, "training"), dataset("churn-validation", val_idx, "validation")]})


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (MlflowError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
