//! The local stack, made from `infra/template.yaml` the way `make dev` makes it, read back from
//! moto and compared with the template's own values: queues (redrive, visibility, retention,
//! encryption), table (key, billing, TTL, point-in-time recovery, encryption),
//! alarms and the generated secret.

use crate::helpers::{moto_endpoint, sdk_config, spawn_app};
use aws_sdk_sqs::types::QueueAttributeName;
use common::secret::ServiceSecret;
use infra::Template;
use serde_json::Value;
use std::collections::BTreeMap;

/// Queue attributes the emulator accepts but does not keep, so they cannot be read back here;
/// `template::queues_event_source_and_secret_fit_what_the_code_relies_on` checks their values.
const NOT_KEPT_BY_MOTO: [&str; 1] = ["RedriveAllowPolicy"];

/// Scalars as text at every depth: SQS hands back `"5"` where the template says `5`.
fn textual(value: &Value) -> Value {
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), textual(v))).collect(),
        Value::Array(items) => items.iter().map(textual).collect(),
        other => Value::String(infra::template::scalar(other).unwrap_or_default()),
    }
}

#[tokio::test]
async fn local_queues_table_alarms_and_secret_have_the_templates_values() {
    let sdk = sdk_config(&moto_endpoint()).await;
    let name = format!(
        "otp-stack-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let stack = tests::stack::local_stack(&sdk, &name).await;
    let template = Template::bundled().unwrap();
    let scope = crate::cfn::Scope::of(&template, &stack);
    let resolved = |id: &str| -> Value {
        scope
            .resolve(&template.resource(id).unwrap()["Properties"])
            .unwrap()
    };
    let of_type = |kind: &'static str| {
        (template.resources().iter())
            .filter(move |(_, r)| r["Type"] == kind)
            .map(|(id, _)| id.as_str())
    };

    // Queues: every property of the template is an attribute of the same value.
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut arns = BTreeMap::new();
    for id in of_type("AWS::SQS::Queue") {
        let url = &stack.resources[id].reference;
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        let attribute = |name: &str| attributes.get(&QueueAttributeName::from(name)).cloned();
        arns.insert(id, attribute("QueueArn").unwrap());
        let properties = resolved(id);
        let properties = properties.as_object().unwrap();
        assert!(properties.contains_key("VisibilityTimeout") || id == "DeadLetterQueue");
        for (key, want) in properties.iter().filter(|(k, _)| *k != "QueueName") {
            if NOT_KEPT_BY_MOTO.contains(&key.as_str()) {
                // When the emulator learns it, this says to compare it too.
                assert_eq!(attribute(key), None, "moto keeps {key} now: compare it");
                continue;
            }
            let got = attribute(key).unwrap_or_else(|| panic!("{id}: moto has no {key}"));
            let got = match want {
                Value::Object(_) => textual(&serde_json::from_str(&got).unwrap()),
                _ => Value::String(got),
            };
            assert_eq!(got, textual(want), "{id}.{key}");
        }
    }
    // The redrive goes to the DLQ after 5 receives.
    let job_queue = sqs
        .get_queue_attributes()
        .queue_url(&stack.environment["OTP_QUEUE_URL"])
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let redrive: Value =
        serde_json::from_str(&job_queue[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(
        redrive["deadLetterTargetArn"],
        arns["DeadLetterQueue"].as_str()
    );
    assert_eq!(textual(&redrive["maxReceiveCount"]), "5");
    // Table.
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let want = resolved("Table");
    let table = &stack.environment["OTP_TABLE_NAME"];
    let described = dynamo
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let keys: Vec<(String, String)> = described
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    let want_keys: Vec<(String, String)> = want["KeySchema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().to_owned(),
                k["KeyType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(keys, want_keys);
    assert_eq!(
        described
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str()),
        want["BillingMode"].as_str()
    );
    assert_eq!(
        described
            .sse_description()
            .and_then(|s| s.status())
            .map(|s| s.as_str()),
        Some(if want["SSESpecification"]["SSEEnabled"] == true {
            "ENABLED"
        } else {
            "DISABLED"
        })
    );
    let ttl = dynamo
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(
        ttl.attribute_name(),
        want["TimeToLiveSpecification"]["AttributeName"].as_str()
    );
    assert_eq!(
        ttl.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );
    let pitr = dynamo
        .describe_continuous_backups()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .continuous_backups_description
        .unwrap()
        .point_in_time_recovery_description
        .unwrap();
    assert_eq!(
        pitr.point_in_time_recovery_status().map(|s| s.as_str()),
        Some("ENABLED")
    );

    // Alarms: each local one exists, reading what the template says, notifying the topic.
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let described = cloudwatch
        .describe_alarms()
        .alarm_name_prefix(format!("{name}-"))
        .send()
        .await
        .unwrap();
    let by_name: BTreeMap<&str, _> = described
        .metric_alarms()
        .iter()
        .map(|a| (a.alarm_name().unwrap(), a))
        .collect();
    let topic = &stack.resources["AlarmTopic"].reference;
    let mut compared = 0;
    for id in of_type("AWS::CloudWatch::Alarm") {
        let Some(physical) = stack.resources.get(id) else {
            continue;
        };
        let got = by_name
            .get(physical.reference.as_str())
            .unwrap_or_else(|| panic!("{id} is not in moto"));
        let want = resolved(id);
        let text = |v: &Value| infra::template::scalar(v);
        assert_eq!(
            got.threshold(),
            text(&want["Threshold"]).and_then(|t| t.parse().ok()),
            "{id}"
        );
        assert_eq!(
            got.comparison_operator().map(|c| c.as_str().to_owned()),
            text(&want["ComparisonOperator"]),
            "{id}"
        );
        assert_eq!(
            got.evaluation_periods(),
            want["EvaluationPeriods"]
                .as_i64()
                .map(|n| i32::try_from(n).unwrap()),
            "{id}"
        );
        assert_eq!(got.alarm_actions(), std::slice::from_ref(topic), "{id}");
        if want.get("Metrics").is_some() {
            let expression = want["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|q| q["Expression"].as_str());
            assert_eq!(
                got.metrics().iter().find_map(|q| q.expression()),
                expression,
                "{id}"
            );
        } else {
            assert_eq!(got.metric_name(), want["MetricName"].as_str(), "{id}");
            assert_eq!(got.namespace(), want["Namespace"].as_str(), "{id}");
            assert_eq!(
                got.statistic().map(|s| s.as_str()),
                want["Statistic"].as_str(),
                "{id}"
            );
            let dimension = got.dimensions().first().unwrap();
            assert_eq!(
                Some(dimension.value().unwrap()),
                want["Dimensions"][0]["Value"].as_str()
            );
        }
        compared += 1;
    }
    assert_eq!(
        compared, 4,
        "the queue, DLQ and worker-metric alarms are local"
    );

    // The generated secret is one the services accept.
    let secret = aws_sdk_secretsmanager::Client::new(&sdk)
        .get_secret_value()
        .secret_id(&stack.environment["OTP_SECRET_ARN"])
        .send()
        .await
        .unwrap();
    let value = secret.secret_string().unwrap();
    assert_eq!(value.len(), 64);
    assert!(ServiceSecret::from_base64(value).is_ok());
}

/// The attribute the template's TTL deletes by is the one the store writes.
#[tokio::test]
async fn records_carry_the_attribute_the_table_expires_them_by() {
    let app = spawn_app().await;
    let answer = app.send_email(&crate::helpers::random_email()).await;
    assert_eq!(answer.status, 202);
    let ttl_attribute = app
        .dynamo
        .describe_time_to_live()
        .table_name(&app.table)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap()
        .attribute_name
        .unwrap();
    let record = app.raw_record(&answer.otp_id()).await.unwrap();
    let expires_at: i64 = record["expires_at"].as_n().unwrap().parse().unwrap();
    let ttl: i64 = record[&ttl_attribute].as_n().unwrap().parse().unwrap();
    assert!(
        ttl > expires_at,
        "TTL never removes a record before it expires"
    );
}

/// `make dev`'s path: the `provision` binary creates the stack and prints the functions'
/// environment; set `OTP_*` variables override the template's parameters, checked as
/// CloudFormation checks them.
#[tokio::test]
async fn the_provision_binary_prints_the_environment_and_takes_overrides() {
    use crate::process::Process;
    let endpoint = moto_endpoint();
    let env = |extra: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("AWS_ENDPOINT_URL", endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ];
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        env
    };
    let name = format!(
        "otp-dev-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let process = Process::start_with_args(
        crate::process::binary("provision"),
        &[&name],
        &env(&[("OTP_TTL_SECONDS", "120")]),
    );
    let (status, output) = process.wait_exit(std::time::Duration::from_secs(60));
    assert!(status.is_some_and(|s| s.success()), "{output}");
    let exports: BTreeMap<&str, &str> = output
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k, v.trim_matches('\'')))
        .collect();
    assert_eq!(exports["OTP_TABLE_NAME"], name);
    assert_eq!(exports["OTP_TTL_SECONDS"], "120");
    assert!(exports["OTP_QUEUE_URL"].ends_with(&format!("/{name}-jobs")));
    assert!(exports["STACK_DeadLetterQueueUrl"].ends_with(&format!("/{name}-jobs-dlq")));
    // The override reached the alarms too: the oldest-job alarm follows the lifetime.
    let sdk = sdk_config(&endpoint).await;
    let alarms = aws_sdk_cloudwatch::Client::new(&sdk)
        .describe_alarms()
        .alarm_names(format!("{name}-JobQueueOldestJobAlarm"))
        .send()
        .await
        .unwrap();
    let expression = alarms.metric_alarms()[0]
        .metrics()
        .iter()
        .find_map(|q| q.expression())
        .unwrap()
        .to_owned();
    assert_eq!(expression, "100 * age / 120");

    // A value the template refuses names the variable, and creates nothing.
    let refused = Process::start_with_args(
        crate::process::binary("provision"),
        &[&format!("{name}-x")],
        &env(&[("OTP_CLAIM_SECONDS", "10")]),
    );
    let (status, output) = refused.wait_exit(std::time::Duration::from_secs(60));
    assert!(status.is_some_and(|s| !s.success()), "{output}");
    assert!(
        output.contains("ClaimSeconds (from OTP_CLAIM_SECONDS)"),
        "{output}"
    );
    assert!(output.contains("below the minimum, 30"), "{output}");
}
