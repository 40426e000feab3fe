"""Affective-tree and rule-based rewards for ms-swift's GRPO trainer, for emocfg's RL export.

Use with the rows of ``jsons/train/rl/{full,sampled}/<Source>_rl.jsonl``::

    swift rlhf --rlhf_type grpo \\
        --external_plugins plugins/affective_tree_reward.py \\
        --reward_funcs affective_tree mcq_accuracy mcq_f1 \\
        --dataset jsons/train/rl/sampled/DFEW_rl.jsonl ...

ms-swift passes every dataset column to a reward function as a keyword list (one entry per
completion). Each row's ``task`` column names the reward that applies; the others return ``None``
for that row, as ms-swift's multi-task training expects:

- ``affective_tree``: the completion's last ``<tree>{...}</tree>`` block is parsed into an affective
  tree (``schemas/affective-tree.schema.json`` plus the structural rules) and compared with the
  row's ``tree`` column (the reference tree as JSON text) by tree edit distance ``d``; the reward
  is ``exp(-LAMBDA * d)``, 1.0 for an identical tree, 0.0 when no valid tree is found.
- ``mcq_accuracy``: 1.0 when the completion's option letters equal ``solution`` (e.g. ``"B"``).
- ``mcq_f1``: F1 between the completion's letters and ``solution`` (e.g. ``"AC"``).

The tree code mirrors ``Sources/EmoCFG/Trees/`` of emocfg line by line (label normalisation,
canonical sibling order, Zhang–Shasha); emocfg's tests run ``tree_distance`` here and in Swift on
the same trees and require the same numbers. Importable without ms-swift: the registration at
the bottom only runs when ``swift.plugin`` can be imported.
"""

import json
import math
import re

LAMBDA = 0.1
COSTS = {"insert": 1.0, "delete": 1.0, "relabel": 1.0}

OPEN, CLOSE = "<tree>", "</tree>"


# ---------------------------------------------------------------- parsing and structure


def extract_tree(text):
    """The JSON of the last <tree>...</tree> block of a description, or None."""
    if not isinstance(text, str):
        return None
    end = text.rfind(CLOSE)
    if end < 0:
        return None
    start = text.rfind(OPEN, 0, end)
    if start < 0:
        return None
    try:
        return json.loads(text[start + len(OPEN):end])
    except ValueError:
        return None


def _text(value):
    return isinstance(value, str) and value.strip() != ""


def tree_problems(tree):
    """Why a parsed JSON value is not a usable affective tree (empty list: it is one)."""
    if not isinstance(tree, dict):
        return ["the tree is not a JSON object"]
    problems = []
    lists = {}
    for key in ("attributes", "expressions", "emotions"):
        value = tree.get(key)
        if not isinstance(value, list) or not value:
            problems.append(key + " must be a non-empty list")
            value = []
        lists[key] = value
    fields = {"attributes": ("id", "aspect", "item"), "expressions": ("id", "aspect", "item"), "emotions": ("id", "item")}
    for key, names in fields.items():
        for i, node in enumerate(lists[key]):
            node = node if isinstance(node, dict) else {}
            for name in names:
                if not _text(node.get(name)):
                    problems.append("%s[%d].%s must be a non-empty string" % (key, i, name))
            if key != "attributes":
                refs = node.get("supported_by")
                if not isinstance(refs, list) or not refs:
                    problems.append("%s[%d].supported_by must be a non-empty list of ids" % (key, i))
                else:
                    for j, r in enumerate(refs):
                        if not _text(r):
                            problems.append("%s[%d].supported_by[%d] must be a non-empty string" % (key, i, j))
    if problems:
        return problems
    attributes, expressions, emotions = lists["attributes"], lists["expressions"], lists["emotions"]
    seen = set()
    for node in attributes + expressions + emotions:
        if node["id"] in seen:
            problems.append("id '%s' is used twice" % node["id"])
        seen.add(node["id"])
    attribute_ids = {a["id"] for a in attributes}
    expression_ids = {x["id"] for x in expressions}

    def check(refs, node, below, level):
        listed = set()
        for r in refs:
            if r in listed:
                problems.append("%s lists '%s' twice in supported_by" % (node, r))
            listed.add(r)
            if r not in below:
                problems.append("%s is supported by '%s', which is not %s" % (node, r, level))

    for x in expressions:
        check(x["supported_by"], "expression '%s'" % x["id"], attribute_ids, "an attribute")
    for m in emotions:
        check(m["supported_by"], "emotion '%s'" % m["id"], expression_ids, "an expression")
    cited = {r for m in emotions for r in m["supported_by"]}
    for x in expressions:
        if x["id"] not in cited:
            problems.append("expression '%s' supports no emotion (an orphan above the attribute level)" % x["id"])
    return problems


# ---------------------------------------------------------------- the labelled tree


def normalise(s):
    """Lower case, '_' and '-' read as spaces, white space collapsed (as AffectiveTree.normalise)."""
    return " ".join(s.lower().replace("_", " ").replace("-", " ").split())


def _escape(label):
    out = []
    for c in label:
        if c in "(),\\":
            out.append("\\")
        out.append(c)
    return "".join(out)


def _unique(ids):
    seen, out = set(), []
    for i in ids:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def labelled_tree(tree):
    """(labels, children) with node 0 the root: emotions, their expressions, their attributes."""
    labels, children = ["root"], [[]]

    def add(label, parent):
        labels.append(label)
        children.append([])
        children[parent].append(len(labels) - 1)
        return len(labels) - 1

    attributes = {}
    for a in tree["attributes"]:
        attributes.setdefault(a["id"], a)
    expressions = {}
    for x in tree["expressions"]:
        expressions.setdefault(x["id"], x)

    def attribute_label(a):
        return "attribute:" + normalise(a["aspect"]) + "=" + normalise(a["item"])

    for m in tree["emotions"]:
        mn = add("emotion=" + normalise(m["item"]), 0)
        for xid in _unique(m["supported_by"]):
            x = expressions.get(xid)
            if x is None:
                continue
            xn = add("expression:" + normalise(x["aspect"]) + "=" + normalise(x["item"]), mn)
            for aid in _unique(x["supported_by"]):
                a = attributes.get(aid)
                if a is not None:
                    add(attribute_label(a), xn)
    cited = {r for x in tree["expressions"] for r in x["supported_by"]}
    for a in tree["attributes"]:
        if a["id"] not in cited:
            add(attribute_label(a), 0)
    return labels, children


def canonical_postorder(labels, children):
    """Post-order labels and leftmost leaves after sorting siblings by subtree signature (UTF-8 order)."""
    n = len(labels)
    signature = [""] * n
    ordered = [list(c) for c in children]
    for node in range(n - 1, -1, -1):
        # Code point order, as Swift's comparison of UTF-8 bytes.
        ordered[node].sort(key=lambda c: signature[c])
        signature[node] = _escape(labels[node]) + "(" + ",".join(signature[c] for c in ordered[node]) + ")"
    post, leftmost = [], []

    def visit(node):
        first = None
        for c in ordered[node]:
            leaf = visit(c)
            if first is None:
                first = leaf
        post.append(labels[node])
        leftmost.append(len(post) - 1 if first is None else first)
        return leftmost[-1]

    visit(0)
    return post, leftmost


def _key_roots(leftmost):
    highest = {}
    for i, l in enumerate(leftmost):
        highest[l] = i
    return sorted(highest.values())


def _zhang_shasha(a, b, costs):
    (la_labels, la), (lb_labels, lb) = a, b
    n, m = len(la_labels), len(lb_labels)
    ins, dele, ren = costs["insert"], costs["delete"], costs["relabel"]
    if n == 0:
        return m * ins
    if m == 0:
        return n * dele
    td = [[0.0] * m for _ in range(n)]
    for i in _key_roots(la):
        for j in _key_roots(lb):
            l1, l2 = la[i], lb[j]
            rows, cols = i - l1 + 1, j - l2 + 1
            fd = [[0.0] * (cols + 1) for _ in range(rows + 1)]
            for x in range(1, rows + 1):
                fd[x][0] = fd[x - 1][0] + dele
            for y in range(1, cols + 1):
                fd[0][y] = fd[0][y - 1] + ins
            for x in range(1, rows + 1):
                nx = l1 + x - 1
                whole1 = la[nx] == l1
                for y in range(1, cols + 1):
                    ny = l2 + y - 1
                    via_delete = fd[x - 1][y] + dele
                    via_insert = fd[x][y - 1] + ins
                    best = via_delete if via_delete < via_insert else via_insert
                    if whole1 and lb[ny] == l2:
                        via_match = fd[x - 1][y - 1] + (0.0 if la_labels[nx] == lb_labels[ny] else ren)
                        if via_match < best:
                            best = via_match
                        fd[x][y] = best
                        td[nx][ny] = best
                    else:
                        via_trees = fd[la[nx] - l1][lb[ny] - l2] + td[nx][ny]
                        if via_trees < best:
                            best = via_trees
                        fd[x][y] = best
    return td[n - 1][m - 1]


def tree_distance(a, b, costs=None):
    """Edit distance between two valid affective trees (parsed JSON), as TreeEditDistance in Swift."""
    costs = costs or COSTS
    return _zhang_shasha(canonical_postorder(*labelled_tree(a)), canonical_postorder(*labelled_tree(b)), costs)


def tree_reward(completion, reference, lam=LAMBDA, costs=None):
    """exp(-lam * d) between the completion's tree and the reference (JSON text or object); 0.0 without a valid tree."""
    predicted = extract_tree(completion)
    if predicted is None or tree_problems(predicted):
        return 0.0
    if isinstance(reference, str):
        try:
            reference = json.loads(reference)
        except ValueError:
            return 0.0
    if tree_problems(reference):
        return 0.0
    return math.exp(-lam * tree_distance(predicted, reference, costs))


# ---------------------------------------------------------------- rule-based rewards



def answer_letters(text):
    """The option letters a completion gives: '(B)' forms if any, else lone capitals, in order, once each."""
    if not isinstance(text, str):
        return ""
    bracketed = re.findall(r"\(([A-Z])\)", text)
    found = bracketed or re.findall(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])", text)
    return "".join(_unique(found))


def mcq_accuracy(completion, solution):
    return 1.0 if sorted(answer_letters(completion)) == sorted(solution or "") else 0.0


def mcq_f1(completion, solution):
    predicted, truth = set(answer_letters(completion)), set(solution or "")
    if not predicted or not truth:
        return 0.0
    hit = len(predicted & truth)
    if hit == 0:
        return 0.0
    precision, recall = hit / len(predicted), hit / len(truth)
    return 2 * precision * recall / (precision + recall)


def _per_row(completions, task, name, score):
    return [score(i, c) if t == name else None for i, (c, t) in enumerate(zip(completions, task))]


# ---------------------------------------------------------------- ms-swift registration

try:
    from swift.plugin import ORM, orms
except ImportError:  # ms-swift not installed: the functions above still work on their own.
    ORM, orms = object, None


class AffectiveTreeReward(ORM):
    """exp(-lambda * tree edit distance) for rows whose task is affective_tree; None for the others."""

    def __call__(self, completions, task=None, tree=None, **kwargs):
        task = task or [None] * len(completions)
        tree = tree or [None] * len(completions)
        return _per_row(completions, task, "affective_tree", lambda i, c: tree_reward(c, tree[i]))


class MCQAccuracyReward(ORM):
    """1.0 when the option letters match solution, for rows whose task is mcq_accuracy."""

    def __call__(self, completions, task=None, solution=None, **kwargs):
        task = task or [None] * len(completions)
        solution = solution or [None] * len(completions)
        return _per_row(completions, task, "mcq_accuracy", lambda i, c: mcq_accuracy(c, solution[i]))


class MCQF1Reward(ORM):
    """F1 of the option letters against solution, for rows whose task is mcq_f1."""

    def __call__(self, completions, task=None, solution=None, **kwargs):
        task = task or [None] * len(completions)
        solution = solution or [None] * len(completions)
        return _per_row(completions, task, "mcq_f1", lambda i, c: mcq_f1(c, solution[i]))


if orms is not None:
    orms["affective_tree"] = AffectiveTreeReward
    orms["mcq_accuracy"] = MCQAccuracyReward
    orms["mcq_f1"] = MCQF1Reward


if __name__ == "__main__":
    # `python3 plugins/affective_tree_reward.py pairs.json`: distances of [[tree, tree], ...] as JSON.
    import sys

    with open(sys.argv[1], encoding="utf-8") as f:
        pairs = json.load(f)
    print(json.dumps([tree_distance(a, b) for a, b in pairs]))
