//! `infra/template.yaml` as it would deploy (default parameters, resources as placeholders such
//! as `{{JobQueue.QueueName}}`): the alarms the issue lists with their metric, statistic and
//! threshold; least-privilege roles; a parameter for every setting, with ranges the code
//! accepts; and the queue, event source and secret settings the code relies on.
//!
//! Written in Rust over the template reader (`infra::Template`) that also builds the local stack,
//! with short tags in their long forms, and the intrinsic functions evaluated (`crate::cfn`), so
//! a check reads `100 * age / 600`, not `!Sub ...`.

use crate::cfn::Scope;
use common::config::Settings;
use infra::Template;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Actions that may have `Resource: "*"`, each with the reason no narrower resource exists.
const STAR_RESOURCE_EXCEPTIONS: [(&str, &str); 1] = [(
    "sns:Publish",
    "an SMS is published to a phone number, which has no ARN to scope to",
)];

/// Settings whose template default differs from the code's, on purpose.
const DEFAULT_DIFFERS: [(&str, &str); 1] = [(
    "OTP_MAX_SEND_RATE",
    "two worker environments (WorkerMaxConcurrency) x 5/s fit a new SES account's 14/s; the code's 10/s is for one local worker",
)];

fn template() -> Template {
    Template::bundled().unwrap()
}

/// Every resource's properties as deployed with `overrides`.
fn deployed(overrides: &[(&str, &str)]) -> BTreeMap<String, (String, Value)> {
    let template = template();
    let scope = Scope::deployed(&template, overrides);
    template
        .resources()
        .iter()
        .filter(|(_, definition)| scope.is_active(definition))
        .map(|(id, definition)| {
            let properties = scope
                .resolve(definition.get("Properties").unwrap_or(&json!({})))
                .unwrap_or_default();
            let kind = definition["Type"].as_str().unwrap().to_owned();
            (id.clone(), (kind, properties))
        })
        .collect()
}

/// One metric an alarm reads: namespace, name, dimension value and statistic.
#[derive(Debug, Clone, PartialEq)]
struct Signal {
    namespace: String,
    metric: String,
    dimension: (String, String),
    statistic: String,
}

fn signals(alarm: &Value) -> Vec<Signal> {
    let dimension = |metric: &Value| {
        let dims = metric["Dimensions"].as_array().unwrap();
        assert_eq!(dims.len(), 1, "one dimension per metric: {metric}");
        (
            dims[0]["Name"].as_str().unwrap().to_owned(),
            dims[0]["Value"].as_str().unwrap().to_owned(),
        )
    };
    if let Some(queries) = alarm["Metrics"].as_array() {
        queries
            .iter()
            .filter_map(|q| q.get("MetricStat"))
            .map(|stat| Signal {
                namespace: stat["Metric"]["Namespace"].as_str().unwrap().to_owned(),
                metric: stat["Metric"]["MetricName"].as_str().unwrap().to_owned(),
                dimension: dimension(&stat["Metric"]),
                statistic: stat["Stat"].as_str().unwrap().to_owned(),
            })
            .collect()
    } else {
        vec![Signal {
            namespace: alarm["Namespace"].as_str().unwrap().to_owned(),
            metric: alarm["MetricName"].as_str().unwrap().to_owned(),
            dimension: dimension(alarm),
            statistic: alarm["Statistic"].as_str().unwrap().to_owned(),
        }]
    }
}

/// The math expression that an alarm compares, if it compares one.
fn expression(alarm: &Value) -> Option<String> {
    alarm["Metrics"]
        .as_array()?
        .iter()
        .find(|q| q["ReturnData"] == true)
        .and_then(|q| q["Expression"].as_str())
        .map(str::to_owned)
}

fn signal(namespace: &str, metric: &str, dimension: (&str, &str), statistic: &str) -> Signal {
    Signal {
        namespace: namespace.to_owned(),
        metric: metric.to_owned(),
        dimension: (dimension.0.to_owned(), dimension.1.to_owned()),
        statistic: statistic.to_owned(),
    }
}

/// The alarms the issue asks for: what each reads, what it compares, and its threshold.
fn expected_alarms(ttl: &str) -> Vec<(Vec<Signal>, Option<String>, f64)> {
    let job_queue = ("QueueName", "{{JobQueue.QueueName}}");
    let dlq = ("QueueName", "{{DeadLetterQueue.QueueName}}");
    let worker = ("FunctionName", "{{WorkerFunction}}");
    let api = ("FunctionName", "{{ApiFunction}}");
    let http_api = ("ApiId", "{{HttpApi}}");
    let (emf_namespace, emf_service) = systemic_metric();
    vec![
        (
            vec![signal(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                job_queue,
                "Maximum",
            )],
            None,
            100.0,
        ),
        // Above a share (50%) of the OTP lifetime, whatever the lifetime is.
        (
            vec![signal(
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                job_queue,
                "Maximum",
            )],
            Some(format!("100 * age / {ttl}")),
            50.0,
        ),
        (
            vec![signal(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                dlq,
                "Maximum",
            )],
            None,
            0.0,
        ),
        (
            vec![signal("AWS/Lambda", "Errors", worker, "Sum")],
            None,
            0.0,
        ),
        (
            vec![signal("AWS/Lambda", "Throttles", worker, "Sum")],
            None,
            0.0,
        ),
        (vec![signal("AWS/Lambda", "Errors", api, "Sum")], None, 0.0),
        (
            vec![signal("AWS/Lambda", "Throttles", api, "Sum")],
            None,
            0.0,
        ),
        (
            vec![
                signal("AWS/ApiGateway", "5xx", http_api, "Sum"),
                signal("AWS/ApiGateway", "Count", http_api, "Sum"),
            ],
            Some("100 * errors / requests".to_owned()),
            5.0,
        ),
        (
            vec![signal(
                &emf_namespace,
                "systemic",
                ("Service", &emf_service),
                "Sum",
            )],
            None,
            0.0,
        ),
    ]
}

/// The worker's systemic-failure metric as it emits it: namespace (its default) and the
/// `Service` dimension, read from a real EMF line.
fn systemic_metric() -> (String, String) {
    let namespace = Settings::from_lookup(|v| (v == "OTP_QUEUE_URL").then(|| "q".to_owned()))
        .unwrap()
        .metrics_namespace;
    let line: Value = serde_json::from_str(&worker::metrics::emf_line(
        &namespace,
        &worker::metrics::Counts::new(),
        0,
    ))
    .unwrap();
    let declared = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(declared["Dimensions"], json!([["Service"]]));
    assert!(
        declared["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["Name"] == "systemic")
    );
    (
        declared["Namespace"].as_str().unwrap().to_owned(),
        line["Service"].as_str().unwrap().to_owned(),
    )
}

/// A number as CloudFormation passes it: literal, or the text of a parameter.
fn number(value: &Value) -> f64 {
    infra::template::scalar(value)
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

fn alarms(resources: &BTreeMap<String, (String, Value)>) -> BTreeMap<&str, &Value> {
    resources
        .iter()
        .filter(|(_, (kind, _))| kind == "AWS::CloudWatch::Alarm")
        .map(|(id, (_, props))| (id.as_str(), props))
        .collect()
}

#[test]
fn every_alarm_of_the_issue_exists_with_its_metric_statistic_and_threshold() {
    for ttl in ["600", "120"] {
        let resources = deployed(&[("TtlSeconds", ttl)]);
        let alarms = alarms(&resources);
        let expected = expected_alarms(ttl);
        assert_eq!(alarms.len(), expected.len(), "alarms: {:?}", alarms.keys());
        for (want_signals, want_expression, threshold) in expected {
            let found: Vec<_> = alarms
                .iter()
                .filter(|(_, a)| signals(a) == want_signals)
                .collect();
            assert_eq!(
                found.len(),
                1,
                "one alarm on {want_signals:?}, found {found:?}"
            );
            let (id, alarm) = found[0];
            assert_eq!(expression(alarm), want_expression, "{id}");
            assert_eq!(number(&alarm["Threshold"]), threshold, "{id}");
            assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold", "{id}");
            assert_eq!(alarm["AlarmActions"], json!(["{{AlarmTopic}}"]), "{id}");
        }
    }
    // The thresholds are parameters where the issue says so.
    let resources = deployed(&[
        ("QueueDepthAlarmThreshold", "7"),
        ("OldestJobAlarmPercent", "25"),
    ]);
    let alarms = alarms(&resources);
    assert_eq!(number(&alarms["JobQueueDepthAlarm"]["Threshold"]), 7.0);
    assert_eq!(number(&alarms["JobQueueOldestJobAlarm"]["Threshold"]), 25.0);
}

#[test]
fn the_dashboard_shows_every_alarm_and_its_signals() {
    let resources = deployed(&[]);
    let body = resources["Dashboard"].1["DashboardBody"].as_str().unwrap();
    let body: Value = serde_json::from_str(body).expect("the dashboard body is JSON");
    let mut shown = Vec::new();
    let mut listed_alarms = BTreeSet::new();
    for widget in body["widgets"].as_array().unwrap() {
        for row in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let texts: Vec<&str> = row
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            if texts.len() >= 4 {
                shown.push((
                    texts[0].to_owned(),
                    texts[1].to_owned(),
                    texts[3].to_owned(),
                ));
            }
        }
        for alarm in widget["properties"]["alarms"]
            .as_array()
            .into_iter()
            .flatten()
        {
            listed_alarms.insert(alarm.as_str().unwrap().to_owned());
        }
    }
    for (id, alarm) in alarms(&resources) {
        for s in signals(alarm) {
            assert!(
                shown.contains(&(s.namespace.clone(), s.metric.clone(), s.dimension.1.clone())),
                "{id}: {s:?} is not on the dashboard"
            );
        }
        assert!(
            listed_alarms.contains(&format!("{{{{{id}.Arn}}}}")),
            "{id} is not on the dashboard"
        );
    }
}

/// action -> resources, over every statement of a role's inline policies.
fn grants(role: &Value) -> BTreeMap<String, BTreeSet<String>> {
    statements(role, "Allow")
}

/// What a role's policies deny, by action (a Deny wins over any Allow).
fn denials(role: &Value) -> BTreeMap<String, BTreeSet<String>> {
    statements(role, "Deny")
}

fn statements(role: &Value, effect: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut grants: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for policy in role["Policies"].as_array().unwrap() {
        for statement in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
            assert!(
                ["Allow", "Deny"].contains(&statement["Effect"].as_str().unwrap_or_default()),
                "{statement}"
            );
            if statement["Effect"] != effect {
                continue;
            }
            let list = |v: &Value| -> Vec<String> {
                match v {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(items) => items
                        .iter()
                        .map(|i| i.as_str().unwrap().to_owned())
                        .collect(),
                    other => panic!("not a string or a list: {other}"),
                }
            };
            for action in list(&statement["Action"]) {
                grants
                    .entry(action)
                    .or_default()
                    .extend(list(&statement["Resource"]));
            }
        }
    }
    grants
}

fn expect(pairs: &[(&[&str], &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (actions, resources) in pairs {
        for action in *actions {
            out.entry((*action).to_owned())
                .or_default()
                .extend(resources.iter().map(|r| (*r).to_owned()));
        }
    }
    out
}

/// The worker's one `*` (sns:Publish, for phone numbers, which have no ARN) must not reach a
/// topic: every topic ARN in every region and account is denied, so the alarm topic cannot be
/// published to with the worker's credentials. The API denies nothing (it has no `*`).
#[test]
fn the_workers_sns_publish_reaches_phone_numbers_only() {
    let resources = deployed(&[("EmailFrom", "no-reply@mail.example.com")]);
    assert_eq!(
        denials(&resources["WorkerRole"].1),
        expect(&[(&["sns:Publish"], &["arn:aws:sns:*:*:*"])])
    );
    assert!(denials(&resources["ApiRole"].1).is_empty());
    let topic = resources["AlarmTopic"].0.as_str();
    assert_eq!(
        topic, "AWS::SNS::Topic",
        "the alarm topic exists to be protected"
    );
}

#[test]
fn each_function_may_do_only_what_its_code_does_on_only_its_resources() {
    let resources = deployed(&[("EmailFrom", "no-reply@mail.example.com")]);
    let api = grants(&resources["ApiRole"].1);
    let worker = grants(&resources["WorkerRole"].1);
    let logs: &[&str] = &["logs:CreateLogStream", "logs:PutLogEvents"];
    let secret: &[&str] = &["secretsmanager:GetSecretValue"];
    assert_eq!(
        api,
        expect(&[
            (logs, &["{{ApiLogGroup.Arn}}"]),
            (
                &[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem"
                ],
                &["{{Table.Arn}}"],
            ),
            (&["sqs:SendMessage"], &["{{JobQueue.Arn}}"]),
            (secret, &["{{ServiceSecret}}"]),
        ])
    );
    assert_eq!(
        worker,
        expect(&[
            (logs, &["{{WorkerLogGroup.Arn}}"]),
            (&["dynamodb:UpdateItem"], &["{{Table.Arn}}"]),
            (
                &[
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                ],
                &["{{JobQueue.Arn}}"],
            ),
            (secret, &["{{ServiceSecret}}"]),
            (
                &["ses:SendEmail"],
                &[
                    "arn:aws:ses:us-east-1:123456789012:identity/no-reply@mail.example.com",
                    "arn:aws:ses:us-east-1:123456789012:identity/mail.example.com",
                ],
            ),
            (&["sns:Publish"], &["*"]),
        ])
    );
    // No `*` where a resource exists, no wildcard actions; the exceptions are exactly the
    // documented ones, so the list cannot go stale.
    let mut stars = BTreeSet::new();
    for (action, resources) in api.iter().chain(&worker) {
        assert!(!action.contains('*'), "wildcard action {action}");
        if resources.contains("*") {
            stars.insert(action.as_str());
        }
    }
    let allowed: BTreeSet<&str> = STAR_RESOURCE_EXCEPTIONS.iter().map(|(a, _)| *a).collect();
    assert_eq!(stars, allowed);
    // Without a sender, no SES permission at all.
    let resources = deployed(&[]);
    assert!(!grants(&resources["WorkerRole"].1).contains_key("ses:SendEmail"));
    // Each function runs as its own role and gets no extra policies from SAM.
    for (function, role) in [("ApiFunction", "ApiRole"), ("WorkerFunction", "WorkerRole")] {
        let props = &resources[function].1;
        assert_eq!(props["Role"], format!("{{{{{role}.Arn}}}}"));
        assert!(
            props.get("Policies").is_none(),
            "{function} has SAM policies"
        );
    }
}

#[test]
fn every_setting_has_a_parameter_whose_range_the_code_accepts() {
    let read = std::cell::RefCell::new(BTreeSet::new());
    Settings::from_lookup(|v| {
        read.borrow_mut().insert(v.to_owned());
        (v == "OTP_QUEUE_URL").then(|| "q".to_owned())
    })
    .unwrap();
    let read = read.into_inner();
    let template = template();
    let environment: BTreeSet<String> = template.global_environment().keys().cloned().collect();
    // The local server's address and the polling worker's receive loops are not Lambda
    // settings; the secret comes as an ARN.
    let mut expected: BTreeSet<String> = read
        .iter()
        .filter(|v| *v != "OTP_HTTP_ADDR" && *v != "OTP_BATCHES_IN_FLIGHT")
        .cloned()
        .collect();
    expected.insert("OTP_SECRET_ARN".to_owned());
    assert_eq!(environment, expected);

    let base = |extra: Option<(&str, String)>| {
        Settings::from_lookup(|v| match (&extra, v) {
            (_, "OTP_QUEUE_URL") => Some("q".to_owned()),
            (Some((name, value)), v) if *name == v => Some(value.clone()),
            _ => None,
        })
        .map(|s| format!("{s:?}"))
    };
    let unset = base(None).unwrap();
    let mut differing = BTreeSet::new();
    for variable in &environment {
        let Some(parameter) = template.parameter_for_variable(variable) else {
            continue;
        };
        let spec = &template.parameters()[parameter];
        let text = |key: &str| spec.get(key).and_then(infra::template::scalar);
        for key in ["MinValue", "MaxValue"] {
            if let Some(bound) = text(key) {
                base(Some((variable, bound.clone()))).unwrap_or_else(|e| {
                    panic!("{parameter}.{key} = {bound} is refused by the code: {e}")
                });
            }
        }
        let default = text("Default").unwrap_or_default();
        let with_default = base(Some((variable, default.clone())))
            .unwrap_or_else(|e| panic!("{parameter} default {default:?} is refused: {e}"));
        if with_default != unset {
            differing.insert(variable.as_str());
        }
    }
    let documented: BTreeSet<&str> = DEFAULT_DIFFERS.iter().map(|(v, _)| *v).collect();
    assert_eq!(differing, documented);
}

#[test]
fn queues_event_source_and_secret_fit_what_the_code_relies_on() {
    let resources = deployed(&[]);
    let props = |id: &str| &resources[id].1;
    let worker_timeout = number(&props("WorkerFunction")["Timeout"]);
    let visibility = number(&props("JobQueue")["VisibilityTimeout"]);
    assert!(
        visibility >= 6.0 * worker_timeout,
        "Lambda wants 6 x the function timeout"
    );
    // A claim outlasts an invocation and ends before SQS hands the job out again.
    let template = template();
    let claim = &template.parameters()["ClaimSeconds"];
    assert!(number(&claim["MinValue"]) >= worker_timeout);
    assert!(number(&claim["MaxValue"]) < visibility);

    let redrive = &props("JobQueue")["RedrivePolicy"];
    assert_eq!(redrive["deadLetterTargetArn"], "{{DeadLetterQueue.Arn}}");
    assert_eq!(redrive["maxReceiveCount"], 5);
    assert_eq!(props("JobQueue")["SqsManagedSseEnabled"], true);
    let dlq = props("DeadLetterQueue");
    assert_eq!(dlq["MessageRetentionPeriod"], 14 * 24 * 3600);
    assert_eq!(dlq["SqsManagedSseEnabled"], true);
    // Only the job queue may redrive into the DLQ: its ARN, spelled from its name.
    let job_queue_name = props("JobQueue")["QueueName"].as_str().unwrap();
    assert_eq!(
        dlq["RedriveAllowPolicy"],
        json!({
            "redrivePermission": "byQueue",
            "sourceQueueArns": [format!("arn:aws:sqs:us-east-1:123456789012:{job_queue_name}")],
        })
    );

    let jobs = &props("WorkerFunction")["Events"]["Jobs"];
    assert_eq!(jobs["Type"], "SQS");
    assert_eq!(jobs["Properties"]["Queue"], "{{JobQueue.Arn}}");
    assert_eq!(jobs["Properties"]["BatchSize"], 10);
    assert_eq!(
        jobs["Properties"]["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(
        jobs["Properties"]["ScalingConfig"]["MaximumConcurrency"],
        "2"
    );

    let table = props("Table");
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["TimeToLiveSpecification"],
        json!({"AttributeName": "ttl", "Enabled": true})
    );
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);

    // The generated secret is letters and digits, a multiple of 4 long: base64 of 48 bytes,
    // which is what the functions decode (the Runtime API tests start them on such a secret).
    let generate = &props("ServiceSecret")["GenerateSecretString"];
    let length = usize::try_from(generate["PasswordLength"].as_u64().unwrap()).unwrap();
    assert!(length.is_multiple_of(4) && length / 4 * 3 >= 32);
    assert_eq!(generate["ExcludePunctuation"], true);
    assert_eq!(generate["IncludeSpace"], false);
    let sample: String = "aZ09".repeat(length / 4);
    assert!(common::secret::ServiceSecret::from_base64(&sample).is_ok());

    // The code is what `make package` builds.
    for (function, binary) in [("ApiFunction", "api"), ("WorkerFunction", "worker")] {
        assert_eq!(
            props(function)["CodeUri"],
            format!("../target/lambda/{binary}/bootstrap.zip")
        );
    }
}
