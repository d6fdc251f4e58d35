"""Runs a composite GitHub Action's shell steps here, the way a runner would, for tests.

Usage: run_action.py ACTION_YML WORKDIR [INPUT=VALUE ...]

What a runner does that matters to the steps is done: inputs (defaults, then the values given)
reach `env:` through `${{ inputs.NAME }}`, `${{ github.action_path }}` is the action's folder,
`${{ steps.ID.outputs.NAME }}` reads what earlier steps wrote to $GITHUB_OUTPUT, folders written
to $GITHUB_PATH go on PATH for later steps, `if:` conditions are evaluated (the operators and
functions the action uses: ==, !=, &&, ||, hashFiles), and `run:` is executed with
`bash --noprofile --norc -eo pipefail`, as `shell: bash` is. A step that `uses:` another action
is not run (that needs the runner); it is reported as skipped with what it would receive.

Prints one JSON document: each step's name, whether it ran and its exit status, and the action's
outputs; exits with the status of the first step that failed, else 0.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def main():
    action_path, workdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    given = dict(arg.split("=", 1) for arg in sys.argv[3:])
    action = yaml.safe_load(open(action_path))
    assert action["runs"]["using"] == "composite", action["runs"]["using"]
    declared = action.get("inputs", {})
    unknown = set(given) - set(declared)
    assert not unknown, f"inputs the action does not declare: {sorted(unknown)}"
    inputs = {name: str(spec.get("default", "")) for name, spec in declared.items()}
    inputs.update(given)
    outputs = {}
    temp = tempfile.mkdtemp()
    path_file = os.path.join(temp, "path")
    open(path_file, "w").close()

    def value(expr):
        expr = expr.strip()
        if expr.startswith("inputs."):
            return inputs[expr[len("inputs."):]]
        if expr == "github.action_path":
            return os.path.dirname(action_path)
        match = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
        if match:
            return outputs.get(match[1], {}).get(match[2], "")
        raise ValueError(f"expression not understood here: {expr}")

    def substitute(text):
        return EXPRESSION.sub(lambda m: value(m[1]), str(text))

    def condition(text):
        text = EXPRESSION.sub(lambda m: m[1], str(text))
        tokens = re.findall(r"'[^']*'|&&|\|\||==|!=|\(|\)|,|[\w.-]+", text)
        python = []
        for token in tokens:
            if token == "&&":
                python.append(" and ")
            elif token == "||":
                python.append(" or ")
            elif token in ("==", "!=", "(", ")", ","):
                python.append(token)
            elif token.startswith("'"):
                python.append(repr(token[1:-1]))
            elif token == "hashFiles":
                python.append("hash_files")
            elif token in ("true", "false"):
                python.append(str(token == "true"))
            elif token in ("always", "success"):
                python.append("(lambda: True)")
            else:
                python.append(repr(value(token)))
        hash_files = lambda *paths: "x" if any(
            os.path.exists(os.path.join(workdir, p)) for p in paths
        ) else ""
        return eval("".join(python), {"hash_files": hash_files})

    report = {"steps": [], "outputs": {}}
    failed = 0
    for step in action["runs"]["steps"]:
        entry = {"name": step.get("name", "")}
        report["steps"].append(entry)
        if failed or ("if" in step and not condition(step["if"])):
            entry["ran"] = False
            continue
        if "uses" in step:
            entry.update(ran=False, uses=step["uses"],
                         with_={k: substitute(v) for k, v in step.get("with", {}).items()})
            continue
        assert step.get("shell") == "bash", f"step {entry['name']}: shell must be bash"
        output_file = os.path.join(temp, "output")
        open(output_file, "w").close()
        env = dict(os.environ)
        env.update({k: substitute(v) for k, v in step.get("env", {}).items()})
        added = [line for line in open(path_file).read().splitlines() if line]
        env["PATH"] = os.pathsep.join(list(reversed(added)) + [os.environ["PATH"]])
        env.update(GITHUB_OUTPUT=output_file, GITHUB_PATH=path_file, RUNNER_TEMP=temp)
        script = os.path.join(temp, "step.sh")
        with open(script, "w") as f:
            f.write(substitute(step["run"]))
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", script],
                              cwd=workdir, env=env)
        entry.update(ran=True, status=done.returncode)
        if "id" in step:
            outputs[step["id"]] = dict(
                line.split("=", 1) for line in open(output_file).read().splitlines() if "=" in line
            )
        if done.returncode != 0:
            failed = done.returncode
    for name, spec in action.get("outputs", {}).items():
        report["outputs"][name] = substitute(spec["value"])
    report["steps"] = [{k.rstrip("_"): v for k, v in s.items()} for s in report["steps"]]
    print(json.dumps(report))
    sys.exit(failed)


if __name__ == "__main__":
    main()
