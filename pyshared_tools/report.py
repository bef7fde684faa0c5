"""Human and JSON renderings of a plan.  The JSON schema is docs/plan-schema.md."""

import json

from .tags import version_text

SCHEMA_VERSION = 1


def plan_document(plans, substvars):
    return {
        "schema": SCHEMA_VERSION,
        "packages": [
            {
                "package": plan.package,
                "tree": plan.root,
                "actions": [action.to_dict() for action in plan.actions],
                "warnings": list(plan.warnings),
                "extensions": [
                    {"path": path, "version": version_text(version) if version else "abi3"}
                    for path, version in sorted(plan.extensions)
                ],
                "substvars": substvars.get(plan.package, {}),
            }
            for plan in plans
        ],
    }


def print_json(plans, substvars):
    print(json.dumps(plan_document(plans, substvars), indent=2, ensure_ascii=False, sort_keys=False))


def print_plan(plans, substvars):
    for plan in plans:
        print(f"{plan.package} ({plan.root}):")
        if not plan.actions:
            print("\tnothing to change")
        for action in plan.actions:
            print(f"\t{action.describe()}")
        for name, value in substvars.get(plan.package, {}).items():
            print(f"\tsubstvar {name}={value}")
