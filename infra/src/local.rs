//! The local stack: the template's table, queues, secret, alarm topic and queue and worker-metric
//! alarms, created by plain SDK calls wherever the standard environment points (moto for
//! `make dev`, the tests and the benchmarks).
//!
//! Values come from `template.yaml`: literals and `!Ref`/`!GetAtt`/`!Sub` resolved against the
//! parameters and the resources created so far (names, alarm dimensions and actions); the redrive
//! wiring between the two queues and the secret's and topic's names are written here. [`resources`] declares, property by property, what these calls mirror and what
//! they leave out: the drift test (infra/tests/drift.rs) fails when the template gains or changes
//! anything it does not declare, so local and deployed cannot drift apart.

use crate::error::{InfraError, aws};
use crate::template::{Template, scalar};
use aws_sdk_cloudwatch::types as cw;
use aws_sdk_dynamodb::types as ddb;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// In [`resources`]: the provisioner reads this value from the template as it runs, so any
/// literal (or `!Ref` to a parameter) is mirrored as it is.
pub const READ: &str = "<read from the template>";

/// Every resource of the template, by logical id, as the local stack has it: what the calls
/// below create, spelled as in the template (type, properties in long form, [`READ`] where they
/// take the template's own value), or, for a resource left out, the reason as a string.
pub fn resources() -> Value {
    let alarm = |specific: Value| {
        let mut properties = json!({
            "AlarmDescription": READ, "EvaluationPeriods": READ, "Threshold": READ,
            "ComparisonOperator": READ, "TreatMissingData": READ,
            "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}],
        });
        if let (Some(all), Value::Object(specific)) = (properties.as_object_mut(), specific) {
            all.extend(specific);
        }
        json!({"Type": "AWS::CloudWatch::Alarm", "Properties": properties})
    };
    let queue = |id: &str| json!({"Name": READ, "Value": {"Fn::GetAtt": [id, "QueueName"]}});
    let one_metric = |dimension: Value| {
        alarm(
            json!({"Namespace": READ, "MetricName": READ, "Dimensions": [dimension],
            "Statistic": READ, "Period": READ}),
        )
    };
    let logs = "logs of a Lambda function; locally the processes log to the terminal";
    let iam = "IAM: moto does not enforce it (tests/tests/api/template.rs checks the roles)";
    json!({
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "TableName": {"Ref": "AWS::StackName"}, "BillingMode": READ,
            "AttributeDefinitions": [{"AttributeName": READ, "AttributeType": READ}],
            "KeySchema": [{"AttributeName": READ, "KeyType": READ}],
            "TimeToLiveSpecification": {"AttributeName": READ, "Enabled": READ},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": READ},
            "SSESpecification": {"SSEEnabled": READ}}},
        "JobQueue": {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": {"Fn::Sub": "${AWS::StackName}-jobs"}, "SqsManagedSseEnabled": READ,
            "VisibilityTimeout": READ, "MessageRetentionPeriod": READ,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
                "maxReceiveCount": READ}}},
        "DeadLetterQueue": {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": {"Fn::Sub": "${AWS::StackName}-jobs-dlq"}, "SqsManagedSseEnabled": READ,
            "MessageRetentionPeriod": READ,
            "RedriveAllowPolicy": {"redrivePermission": READ, "sourceQueueArns": [{"Fn::Sub":
                "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}-jobs"}]}}},
        "ServiceSecret": {"Type": "AWS::SecretsManager::Secret", "Properties": {
            "Description": READ, "GenerateSecretString": {"PasswordLength": READ,
                "ExcludePunctuation": READ, "IncludeSpace": READ, "RequireEachIncludedType": READ}}},
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": READ}},
        "JobQueueDepthAlarm": one_metric(queue("JobQueue")),
        "JobQueueOldestJobAlarm": alarm(json!({"Metrics": [
            {"Id": READ, "ReturnData": READ, "MetricStat": {"Period": READ, "Stat": READ, "Metric":
                {"Namespace": READ, "MetricName": READ, "Dimensions": [queue("JobQueue")]}}},
            {"Id": READ, "Label": READ, "ReturnData": READ,
                "Expression": {"Fn::Sub": "100 * age / ${TtlSeconds}"}}]})),
        "DeadLetterQueueAlarm": one_metric(queue("DeadLetterQueue")),
        "WorkerSystemicFailureAlarm": one_metric(json!({"Name": READ, "Value": READ})),
        "ApiLogGroup": logs, "WorkerLogGroup": logs, "ApiRole": iam, "WorkerRole": iam,
        "ApiFunction": "locally the API runs as a process (scripts/dev.sh, the tests)",
        "WorkerFunction": "locally the worker runs as a polling process",
        "ApiAccessLogGroup": "access logs of the HTTP API, which is not local",
        "HttpApi": "locally the API binary serves HTTP itself",
        "AlarmEmailSubscription": "an e-mail subscription needs a person to confirm it",
        "WorkerErrorsAlarm": "it watches WorkerFunction, which is not local",
        "WorkerThrottlesAlarm": "it watches WorkerFunction, which is not local",
        "ApiErrorsAlarm": "it watches ApiFunction, which is not local",
        "ApiThrottlesAlarm": "it watches ApiFunction, which is not local",
        "Api5xxRateAlarm": "it watches HttpApi, which is not local",
        "Dashboard": "it shows the functions and the HTTP API, which are not local",
    })
}

/// The template's queues, by logical id, each after the DLQ its redrive policy names.
const QUEUES: [&str; 2] = ["DeadLetterQueue", "JobQueue"];

/// The queue properties `CreateQueue` takes as attributes, as the template writes them.
const QUEUE_ATTRIBUTES: [&str; 3] = [
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
    "MessageRetentionPeriod",
];

/// A created resource: what `!Ref` gives, and its `!GetAtt` attributes (`Arn`, `QueueName`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Physical {
    pub reference: String,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct LocalStack {
    pub name: String,
    /// Every template parameter, at its default or its override.
    pub parameters: BTreeMap<String, String>,
    /// The created resources by logical id.
    pub resources: BTreeMap<String, Physical>,
    /// The functions' environment as deployed (`OTP_TABLE_NAME`, `OTP_QUEUE_URL`,
    /// `OTP_SECRET_ARN` and every setting), resolved against the local resources.
    pub environment: BTreeMap<String, String>,
    /// The template's outputs that name a local resource.
    pub outputs: BTreeMap<String, String>,
}

/// Parameter overrides from the `OTP_*` variables that are set: `OTP_TTL_SECONDS=120` sets
/// `TtlSeconds`, as a deployment would pass it.
pub fn overrides_from_env(
    template: &Template,
    lookup: impl Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    template
        .global_environment()
        .keys()
        .filter_map(|variable| {
            let parameter = template.parameter_for_variable(variable)?;
            let value = lookup(variable).filter(|v| !v.trim().is_empty())?;
            Some((parameter.to_owned(), value))
        })
        .collect()
}

/// Creates the local stack `stack_name` with `overrides` for the template's parameters.
pub async fn provision(
    sdk: &aws_config::SdkConfig,
    template: &Template,
    stack_name: &str,
    overrides: &BTreeMap<String, String>,
) -> Result<LocalStack, InfraError> {
    let mut local = Provisioner {
        template,
        stack: stack_name,
        parameters: template.parameter_values(overrides)?,
        resources: BTreeMap::new(),
        sdk,
    };
    local.table().await?;
    local.queues().await?;
    local.secret().await?;
    local.topic().await?;
    // The alarms [`resources`] mirrors (it gives the others a reason instead).
    for (id, declared) in resources().as_object().into_iter().flatten() {
        if declared["Type"] == "AWS::CloudWatch::Alarm" {
            local.alarm(id).await?;
        }
    }
    let environment = template
        .global_environment()
        .iter()
        .filter_map(|(variable, value)| Some((variable.clone(), local.value(value)?)))
        .collect();
    let outputs = (template.section("Outputs").iter())
        .filter_map(|(name, output)| Some((name.clone(), local.value(output.get("Value")?)?)))
        .collect();
    Ok(LocalStack {
        name: stack_name.to_owned(),
        parameters: local.parameters,
        resources: local.resources,
        environment,
        outputs,
    })
}

/// Outside the stack, a deployment needs a verified SES identity for the sender (docs/deploy.md
/// says how); locally, creating it is all it takes (moto verifies at once).
pub async fn verify_sender(sdk: &aws_config::SdkConfig, address: &str) -> Result<(), InfraError> {
    let ses = aws_sdk_sesv2::Client::new(sdk);
    let created = ses.create_email_identity().email_identity(address).send();
    match created.await {
        // Already there, from an earlier run.
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_already_exists_exception()) =>
        {
            Ok(())
        }
        created => aws(address, "sesv2:CreateEmailIdentity", created).map(drop),
    }
}

struct Provisioner<'a> {
    template: &'a Template,
    stack: &'a str,
    parameters: BTreeMap<String, String>,
    resources: BTreeMap<String, Physical>,
    sdk: &'a aws_config::SdkConfig,
}

impl Provisioner<'_> {
    /// What `${name}` or `!Ref name` gives: a parameter, the stack name or a created resource.
    fn lookup(&self, name: &str) -> Option<String> {
        match name {
            "AWS::StackName" => Some(self.stack.to_owned()),
            _ => (self.parameters.get(name))
                .or_else(|| Some(&self.resources.get(name)?.reference))
                .cloned(),
        }
    }

    /// A literal, `!Ref`, `!GetAtt` or `!Sub` resolved against the parameters and the resources
    /// created so far; `None` when it names something not local (a function, the HTTP API).
    fn value(&self, value: &Value) -> Option<String> {
        if let Some(name) = value.get("Ref").and_then(Value::as_str) {
            return self.lookup(name);
        }
        if let Some([id, name]) = value
            .get("Fn::GetAtt")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            let physical = self.resources.get(id.as_str()?)?;
            return physical.attributes.get(name.as_str()?).cloned();
        }
        let Some(mut rest) = value.get("Fn::Sub").and_then(Value::as_str) else {
            return scalar(value);
        };
        let mut text = String::new();
        while let Some((before, after)) = rest.split_once("${") {
            let (name, after) = after.split_once('}')?;
            text = text + before + &self.lookup(name)?;
            rest = after;
        }
        Some(text + rest)
    }

    /// The template's value at `pointer` in resource `id`'s properties, as written.
    fn at(&self, id: &str, pointer: &str) -> Option<&Value> {
        self.template
            .resource(id)?
            .get("Properties")?
            .pointer(pointer)
    }

    /// The template's value at `pointer` in resource `id`'s properties, resolved and parsed (a
    /// number, a flag, an SDK enum or a string), if it has one.
    fn get<T: std::str::FromStr>(&self, id: &str, pointer: &str) -> Result<Option<T>, InfraError> {
        let Some(text) = self.at(id, pointer).and_then(|v| self.value(v)) else {
            return Ok(None);
        };
        let invalid = |_| InfraError::Template(format!("{id}: {pointer} is not valid: {text}"));
        text.parse().map(Some).map_err(invalid)
    }

    /// `item` of the pointer to each element of the array at `pointer`, if there is one.
    fn each<T>(
        &self,
        id: &str,
        pointer: &str,
        item: impl Fn(&str) -> Result<T, InfraError>,
    ) -> Result<Option<Vec<T>>, InfraError> {
        let Some(items) = self.at(id, pointer).and_then(Value::as_array) else {
            return Ok(None);
        };
        (0..items.len())
            .map(|i| item(&format!("{pointer}/{i}")))
            .collect::<Result<_, _>>()
            .map(Some)
    }

    fn created(&mut self, id: &str, reference: String, attributes: &[(&str, String)]) {
        tracing::debug!(resource = %id, %reference, "created");
        let attributes = attributes.iter().map(|(k, v)| ((*k).to_owned(), v.clone()));
        let attributes = attributes.collect();
        (self.resources).insert(
            id.to_owned(),
            Physical {
                reference,
                attributes,
            },
        );
    }

    async fn table(&mut self) -> Result<(), InfraError> {
        let (id, dynamodb) = ("Table", aws_sdk_dynamodb::Client::new(self.sdk));
        let name = self
            .get::<String>(id, "/TableName")?
            .unwrap_or_else(|| self.stack.to_owned());
        let request = (dynamodb.create_table().table_name(&name))
            .set_attribute_definitions(self.each(id, "/AttributeDefinitions", |at| {
                (ddb::AttributeDefinition::builder())
                    .set_attribute_name(self.get(id, &format!("{at}/AttributeName"))?)
                    .set_attribute_type(self.get(id, &format!("{at}/AttributeType"))?)
                    .build()
                    .map_err(InfraError::build(id))
            })?)
            .set_key_schema(self.each(id, "/KeySchema", |at| {
                (ddb::KeySchemaElement::builder())
                    .set_attribute_name(self.get(id, &format!("{at}/AttributeName"))?)
                    .set_key_type(self.get(id, &format!("{at}/KeyType"))?)
                    .build()
                    .map_err(InfraError::build(id))
            })?)
            .set_billing_mode(self.get(id, "/BillingMode")?)
            .sse_specification(
                (ddb::SseSpecification::builder())
                    .set_enabled(self.get(id, "/SSESpecification/SSEEnabled")?)
                    .build(),
            );
        let created = aws(id, "dynamodb:CreateTable", request.send().await)?;
        let request = (dynamodb.update_time_to_live().table_name(&name))
            .time_to_live_specification(
                ddb::TimeToLiveSpecification::builder()
                    .set_attribute_name(self.get(id, "/TimeToLiveSpecification/AttributeName")?)
                    .set_enabled(self.get(id, "/TimeToLiveSpecification/Enabled")?)
                    .build()
                    .map_err(InfraError::build(id))?,
            );
        aws(id, "dynamodb:UpdateTimeToLive", request.send().await)?;
        let pitr = "/PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled";
        let request = (dynamodb.update_continuous_backups().table_name(&name))
            .point_in_time_recovery_specification(
                ddb::PointInTimeRecoverySpecification::builder()
                    .set_point_in_time_recovery_enabled(self.get(id, pitr)?)
                    .build()
                    .map_err(InfraError::build(id))?,
            );
        aws(id, "dynamodb:UpdateContinuousBackups", request.send().await)?;
        let arn = created.table_description.and_then(|d| d.table_arn);
        self.created(id, name, &[("Arn", arn.unwrap_or_default())]);
        Ok(())
    }

    /// Each of [`QUEUES`] with the template's attributes and redrive policy (its DLQ is created
    /// before it), then each DLQ's permission to take redrives from the queues that name it only.
    async fn queues(&mut self) -> Result<(), InfraError> {
        let sqs = aws_sdk_sqs::Client::new(self.sdk);
        for id in QUEUES {
            let name = (self.get::<String>(id, "/QueueName")?)
                .ok_or_else(|| InfraError::Template(format!("{id}: no QueueName")))?;
            let mut request = sqs.create_queue().queue_name(&name);
            for attribute in QUEUE_ATTRIBUTES {
                if let Some(value) = self.get::<String>(id, &format!("/{attribute}"))? {
                    request = request.attributes(attribute.into(), value);
                }
            }
            if let Some(dlq) = self.get::<String>(id, "/RedrivePolicy/deadLetterTargetArn")? {
                let count = self.get::<u32>(id, "/RedrivePolicy/maxReceiveCount")?;
                let redrive = json!({"deadLetterTargetArn": dlq, "maxReceiveCount": count});
                request =
                    request.attributes(QueueAttributeName::RedrivePolicy, redrive.to_string());
            }
            let url = aws(id, "sqs:CreateQueue", request.send().await)?.queue_url;
            let url = url.unwrap_or_default();
            let request = (sqs.get_queue_attributes().queue_url(&url))
                .attribute_names(QueueAttributeName::QueueArn);
            let arn = aws(id, "sqs:GetQueueAttributes", request.send().await)?
                .attributes
                .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
                .unwrap_or_default();
            self.created(id, url, &[("Arn", arn), ("QueueName", name)]);
        }
        for dlq in QUEUES {
            let at = "/RedriveAllowPolicy/redrivePermission";
            let Some(permission) = self.get::<String>(dlq, at)? else {
                continue;
            };
            let arn = &self.resources[dlq].attributes["Arn"];
            let mut sources = Vec::new();
            for id in QUEUES {
                let target = self.get::<String>(id, "/RedrivePolicy/deadLetterTargetArn")?;
                if target.as_ref() == Some(arn) {
                    sources.push(&self.resources[id].attributes["Arn"]);
                }
            }
            let allow = json!({"redrivePermission": permission, "sourceQueueArns": sources});
            let request = (sqs.set_queue_attributes())
                .queue_url(&self.resources[dlq].reference)
                .attributes(QueueAttributeName::RedriveAllowPolicy, allow.to_string());
            aws(dlq, "sqs:SetQueueAttributes", request.send().await)?;
        }
        Ok(())
    }

    /// Drawn by Secrets Manager's own generator with the template's settings, as CloudFormation
    /// does it.
    async fn secret(&mut self) -> Result<(), InfraError> {
        let id = "ServiceSecret";
        let secrets = aws_sdk_secretsmanager::Client::new(self.sdk);
        let setting = |name: &str| format!("/GenerateSecretString/{name}");
        let request = (secrets.get_random_password())
            .set_password_length(self.get(id, &setting("PasswordLength"))?)
            .set_exclude_punctuation(self.get(id, &setting("ExcludePunctuation"))?)
            .set_include_space(self.get(id, &setting("IncludeSpace"))?)
            .set_require_each_included_type(self.get(id, &setting("RequireEachIncludedType"))?);
        let password =
            aws(id, "secretsmanager:GetRandomPassword", request.send().await)?.random_password;
        let request = (secrets.create_secret())
            .name(format!("{}-{id}", self.stack))
            .set_description(self.get(id, "/Description")?)
            .set_secret_string(password);
        let arn = aws(id, "secretsmanager:CreateSecret", request.send().await)?
            .arn
            .unwrap_or_default();
        self.created(id, arn, &[]);
        Ok(())
    }

    async fn topic(&mut self) -> Result<(), InfraError> {
        let (id, sns) = ("AlarmTopic", aws_sdk_sns::Client::new(self.sdk));
        let display = self.get::<String>(id, "/DisplayName")?;
        let request = (sns.create_topic().name(format!("{}-{id}", self.stack)))
            .set_attributes(display.map(|d| [("DisplayName".to_owned(), d)].into()));
        let arn = aws(id, "sns:CreateTopic", request.send().await)?
            .topic_arn
            .unwrap_or_default();
        self.created(id, arn, &[]);
        Ok(())
    }

    /// Alarm `id` as the template writes it, named `<stack>-<logical id>` as CloudFormation
    /// names it: one metric (`Namespace`, `Dimensions`...), or a metric math `Metrics` list.
    async fn alarm(&mut self, id: &str) -> Result<(), InfraError> {
        let text = |at: &str| self.get::<String>(id, at);
        let dimensions = |at: &str| {
            self.each(id, &format!("{at}/Dimensions"), |d| {
                Ok((cw::Dimension::builder())
                    .set_name(text(&format!("{d}/Name"))?)
                    .set_value(text(&format!("{d}/Value"))?)
                    .build())
            })
        };
        let metrics = self.each(id, "/Metrics", |at| {
            let stat = format!("{at}/MetricStat");
            let metric = format!("{stat}/Metric");
            let metric_stat = (cw::MetricStat::builder())
                .metric(
                    (cw::Metric::builder())
                        .set_namespace(text(&format!("{metric}/Namespace"))?)
                        .set_metric_name(text(&format!("{metric}/MetricName"))?)
                        .set_dimensions(dimensions(&metric)?)
                        .build(),
                )
                .set_period(self.get(id, &format!("{stat}/Period"))?)
                .set_stat(text(&format!("{stat}/Stat"))?)
                .build();
            Ok((cw::MetricDataQuery::builder())
                .set_id(text(&format!("{at}/Id"))?)
                .set_label(text(&format!("{at}/Label"))?)
                .set_return_data(self.get(id, &format!("{at}/ReturnData"))?)
                .set_expression(text(&format!("{at}/Expression"))?)
                .set_metric_stat(self.at(id, &stat).map(|_| metric_stat))
                .build())
        })?;
        let topics = |at: &str| {
            self.each(id, at, |a| {
                text(a)?.ok_or_else(|| InfraError::Template(format!("{id}: {a} is not local")))
            })
        };
        let cloudwatch = aws_sdk_cloudwatch::Client::new(self.sdk);
        let request = (cloudwatch.put_metric_alarm())
            .alarm_name(format!("{}-{id}", self.stack))
            .set_alarm_description(text("/AlarmDescription")?)
            .set_namespace(text("/Namespace")?)
            .set_metric_name(text("/MetricName")?)
            .set_dimensions(dimensions("")?)
            .set_statistic(self.get(id, "/Statistic")?)
            .set_period(self.get(id, "/Period")?)
            .set_metrics(metrics)
            .set_evaluation_periods(self.get(id, "/EvaluationPeriods")?)
            .set_threshold(self.get(id, "/Threshold")?)
            .set_comparison_operator(self.get(id, "/ComparisonOperator")?)
            .set_treat_missing_data(text("/TreatMissingData")?)
            .set_alarm_actions(topics("/AlarmActions")?)
            .set_ok_actions(topics("/OKActions")?);
        aws(id, "cloudwatch:PutMetricAlarm", request.send().await)?;
        self.created(id, format!("{}-{id}", self.stack), &[]);
        Ok(())
    }
}
