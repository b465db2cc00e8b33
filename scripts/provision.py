"""Creates the local stack in moto: the table (with TTL), the job queue and its DLQ (with the
redrive policy), and a verified SES identity for OTP_EMAIL_FROM. Prints the queue URLs as shell
assignments. Idempotent: running it twice changes nothing."""

import json
import os

import boto3

table_name = os.environ.get("OTP_TABLE_NAME", "otp-relay")
queue_name = os.environ.get("OTP_QUEUE_NAME", "otp-relay-jobs")
email_from = os.environ.get("OTP_EMAIL_FROM", "no-reply@otp-relay.local")
max_receives = int(os.environ.get("OTP_MAX_RECEIVE_COUNT", "5"))

# boto3 reads AWS_DEFAULT_REGION; the Rust SDK (and our docs) use AWS_REGION.
boto3.setup_default_session(region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))

dynamodb = boto3.client("dynamodb")
if table_name not in dynamodb.list_tables()["TableNames"]:
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"},
    )

sqs = boto3.client("sqs")
dlq_url = sqs.create_queue(
    QueueName=f"{queue_name}-dlq",
    Attributes={"MessageRetentionPeriod": str(14 * 24 * 3600)},
)["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
queue_url = sqs.create_queue(
    QueueName=queue_name,
    Attributes={
        "VisibilityTimeout": "60",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}),
    },
)["QueueUrl"]

boto3.client("ses").verify_email_identity(EmailAddress=email_from)

print(f"OTP_QUEUE_URL={queue_url}")
print(f"OTP_DLQ_URL={dlq_url}")
