#!/usr/bin/env python3
"""Checks every sample body the Open MPIC server can send against the JSON Schemas of
openmpic/openapi.json (components.schemas), with Debian's python3-jsonschema (draft 2020-12).

usage: schema_test.py SAMPLE_BODIES_BINARY OPENAPI_JSON
       schema_test.py --samples FILE.jsonl OPENAPI_JSON
The second form checks bodies a real server sent (tests/integration/openmpic_lab_test.cc):
one {"schema": NAME, "body": {...}} per line.
"""
import copy
import json
import subprocess
import sys

import jsonschema


def validator_for(document, name):
    schema = copy.deepcopy(document)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$ref"] = "#/components/schemas/" + name
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def main():
    samples_file = None
    if sys.argv[1] == "--samples":
        samples_file, openapi = sys.argv[2], sys.argv[3]
    else:
        binary, openapi = sys.argv[1], sys.argv[2]
    with open(openapi, encoding="utf-8") as f:
        document = json.load(f)
    for name, schema in document["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)
    if samples_file:
        with open(samples_file, encoding="utf-8") as f:
            out = f.read()
    else:
        out = subprocess.run([binary], check=True, capture_output=True, text=True,
                             timeout=30).stdout
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(lines) >= 10, f"too few samples: {len(lines)}"
    failures = 0
    seen = set()
    for sample in lines:
        name = sample["schema"]
        seen.add(name)
        errors = list(validator_for(document, name).iter_errors(sample["body"]))
        for error in errors:
            failures += 1
            print(f"FAIL {name}: {error.message} at {list(error.absolute_path)}")
    # The schemas must also reject: a response claiming validity with a wrong type, an error
    # body without issues.
    bad = [("DcvResponse", {"is_valid": "yes"}),
           ("ValidationFailed", {"error": "request-validation-failed", "validation_issues": []})]
    for name, body in bad:
        if not list(validator_for(document, name).iter_errors(body)):
            failures += 1
            print(f"FAIL {name}: accepted an invalid body {body}")
    for needed in ("DcvResponse", "CaaResponse", "ValidationFailed", "Error"):
        if needed not in seen:
            failures += 1
            print(f"FAIL: no sample for {needed}")
    print(f"{len(lines)} samples checked, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
