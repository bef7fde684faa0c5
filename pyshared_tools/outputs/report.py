"""Human and JSON renderings of a plan.  The JSON schema is docs/plan-schema.md."""

import json

from pyshared_tools.rules.tags import version_text

SCHEMA_VERSION = 1


def plan_document(plans, outputs):
    return {
        "schema": SCHEMA_VERSION,
        "packages": [
            {
                "package": plan.package,
                "tree": plan.root,
                "actions": [action.to_dict() for action in plan.actions],
                "warnings": list(plan.warnings),
                "extensions": [
                    {
                        "path": path,
                        "version": version_text(version) if version else "abi3",
                        "checks": [_check_document(result) for result in plan.checks.get(path, ())],
                    }
                    for path, version in sorted(plan.extensions)
                ],
                "substvars": {k: v for k, v in outputs.substvars.get(plan.package, {}).items() if v},
                "scripts": outputs.scripts.get(plan.package, {}),
            }
            for plan in plans
        ],
    }


def _check_document(result):
    document = {"check": result.check, "outcome": result.outcome}
    if result.what:
        document["detail"] = f"{result.what}, {result.todo}" if result.todo else result.what
    return document


def print_json(plans, outputs):
    print(json.dumps(plan_document(plans, outputs), indent=2, ensure_ascii=False, sort_keys=False))


def print_plan(plans, outputs):
    for plan in plans:
        print(f"{plan.package} ({plan.root}):")
        if not plan.actions:
            print("\tnothing to change")
        for action in plan.actions:
            print(f"\t{action.describe()}")
        for path, results in sorted(plan.checks.items()):
            print(f"\tcheck {path}: " + ", ".join(f"{r.check} {r.outcome}" for r in results))
        for name, value in outputs.substvars.get(plan.package, {}).items():
            if value:
                print(f"\tsubstvar {name}={value}")
        for script, body in outputs.scripts.get(plan.package, {}).items():
            print(f"\t{script} snippet:")
            for line in body.splitlines():
                print(f"\t\t{line}")
