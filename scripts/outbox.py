"""Prints what the local stack delivered (moto's record of SES e-mails and SNS SMS), newest
first. Usage: outbox.py [ENDPOINT]"""

import json
import os
import sys
import urllib.request

endpoint = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
try:
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=5) as response:
        data = json.load(response)
except OSError as err:
    sys.exit(f"cannot reach the local AWS at {endpoint} ({err}); is `make dev` running?")

emails = data.get("ses", {}).get("Message", [])
sms = data.get("sns", {}).get("SMS", [])
# moto records no send time, only the order: each channel is listed newest first.
print(f"== e-mail ({len(emails)}) ==")
for m in reversed(emails):
    to = ", ".join(m["destinations"].get("ToAddresses", []))
    print(f"to {to}: {m['subject']}\n    {m['body']}")
print(f"== sms ({len(sms)}) ==")
for m in reversed(sms):
    print(f"to {m['phone_number']}:\n    {m['message']}")
