//! The local stack: the template's table, queues, secret, alarm topic and queue and worker-metric
//! alarms, created by plain SDK calls wherever the standard environment points (moto for
//! `make dev`, the tests and the benchmarks).
//!
//! Values come from `template.yaml` where they are literals or parameters (attributes,
//! thresholds, secret settings); the wiring between resources (names, ARNs, the redrive) is
//! written here. [`resources`] declares, property by property, what these calls mirror and what
//! they leave out: the drift test (infra/tests/drift.rs) fails when the template gains or changes
//! anything it does not declare, so local and deployed cannot drift apart.

use crate::error::InfraError;
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

/// The alarms [`provision`] creates.
const ALARMS: [&str; 4] = [
    "JobQueueDepthAlarm",
    "JobQueueOldestJobAlarm",
    "DeadLetterQueueAlarm",
    "WorkerSystemicFailureAlarm",
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
        dynamodb: aws_sdk_dynamodb::Client::new(sdk),
        sqs: aws_sdk_sqs::Client::new(sdk),
        sns: aws_sdk_sns::Client::new(sdk),
        cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
        secrets: aws_sdk_secretsmanager::Client::new(sdk),
    };
    local.table().await?;
    local.queues().await?;
    local.secret().await?;
    local.topic().await?;
    local.alarms().await?;
    for id in ALARMS {
        local.created(id, format!("{stack_name}-{id}"), &[]);
    }
    let environment = template
        .global_environment()
        .iter()
        .filter_map(|(variable, value)| Some((variable.clone(), local.value(value)?)))
        .collect();
    let outputs = template
        .outputs()
        .iter()
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
    match aws_sdk_sesv2::Client::new(sdk)
        .create_email_identity()
        .email_identity(address)
        .send()
        .await
    {
        Err(e)
            if !e
                .as_service_error()
                .is_some_and(|s| s.is_already_exists_exception()) =>
        {
            Err(InfraError::aws(address, "sesv2:CreateEmailIdentity")(e))
        }
        _ => Ok(()),
    }
}

struct Provisioner<'a> {
    template: &'a Template,
    stack: &'a str,
    parameters: BTreeMap<String, String>,
    resources: BTreeMap<String, Physical>,
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    secrets: aws_sdk_secretsmanager::Client,
}

impl Provisioner<'_> {
    /// A literal, or `!Ref` to a parameter or to a resource already created.
    fn value(&self, value: &Value) -> Option<String> {
        match value.get("Ref").and_then(Value::as_str) {
            Some(name) => (self.parameters.get(name))
                .or_else(|| Some(&self.resources.get(name)?.reference))
                .cloned(),
            None => scalar(value),
        }
    }

    /// The template's value at `pointer` in resource `id`'s properties, if it has one.
    fn read(&self, id: &str, pointer: &str) -> Option<String> {
        let properties = self.template.resource(id)?.get("Properties")?;
        self.value(properties.pointer(pointer)?)
    }

    fn need(&self, id: &str, pointer: &str) -> Result<String, InfraError> {
        self.read(id, pointer)
            .ok_or_else(|| InfraError::Template(format!("{id}: no value at {pointer}")))
    }

    fn number<T: std::str::FromStr>(
        &self,
        id: &str,
        pointer: &str,
    ) -> Result<Option<T>, InfraError> {
        let Some(text) = self.read(id, pointer) else {
            return Ok(None);
        };
        let invalid = |_| InfraError::Template(format!("{id}: {pointer} is not a number"));
        text.parse().map(Some).map_err(invalid)
    }

    fn flag(&self, id: &str, pointer: &str) -> Option<bool> {
        self.read(id, pointer).map(|text| text == "true")
    }

    fn attribute(&self, id: &str, name: &str) -> String {
        self.resources[id].attributes[name].clone()
    }

    fn created(&mut self, id: &str, reference: String, attributes: &[(&str, String)]) {
        tracing::debug!(resource = %id, %reference, "created");
        let attributes = attributes.iter().map(|(k, v)| ((*k).to_owned(), v.clone()));
        let physical = Physical {
            reference,
            attributes: attributes.collect(),
        };
        self.resources.insert(id.to_owned(), physical);
    }

    async fn table(&mut self) -> Result<(), InfraError> {
        let (id, name) = ("Table", self.stack.to_owned());
        let invalid =
            |e: aws_sdk_dynamodb::error::BuildError| InfraError::Template(format!("{id}: {e}"));
        let created = (self.dynamodb.create_table().table_name(&name))
            .attribute_definitions(
                ddb::AttributeDefinition::builder()
                    .attribute_name(self.need(id, "/AttributeDefinitions/0/AttributeName")?)
                    .attribute_type(
                        self.need(id, "/AttributeDefinitions/0/AttributeType")?
                            .as_str()
                            .into(),
                    )
                    .build()
                    .map_err(invalid)?,
            )
            .key_schema(
                ddb::KeySchemaElement::builder()
                    .attribute_name(self.need(id, "/KeySchema/0/AttributeName")?)
                    .key_type(self.need(id, "/KeySchema/0/KeyType")?.as_str().into())
                    .build()
                    .map_err(invalid)?,
            )
            .set_billing_mode(self.read(id, "/BillingMode").map(|m| m.as_str().into()))
            .sse_specification(
                (ddb::SseSpecification::builder())
                    .set_enabled(self.flag(id, "/SSESpecification/SSEEnabled"))
                    .build(),
            )
            .send()
            .await
            .map_err(InfraError::aws(id, "dynamodb:CreateTable"))?;
        (self.dynamodb.update_time_to_live().table_name(&name))
            .time_to_live_specification(
                ddb::TimeToLiveSpecification::builder()
                    .attribute_name(self.need(id, "/TimeToLiveSpecification/AttributeName")?)
                    .enabled(self.flag(id, "/TimeToLiveSpecification/Enabled") == Some(true))
                    .build()
                    .map_err(invalid)?,
            )
            .send()
            .await
            .map_err(InfraError::aws(id, "dynamodb:UpdateTimeToLive"))?;
        let pitr = "/PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled";
        (self.dynamodb.update_continuous_backups().table_name(&name))
            .point_in_time_recovery_specification(
                ddb::PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(self.flag(id, pitr) == Some(true))
                    .build()
                    .map_err(invalid)?,
            )
            .send()
            .await
            .map_err(InfraError::aws(id, "dynamodb:UpdateContinuousBackups"))?;
        let arn = created.table_description.and_then(|d| d.table_arn);
        self.created(id, name, &[("Arn", arn.unwrap_or_default())]);
        Ok(())
    }

    /// The DLQ, then the job queue redriving into it after `maxReceiveCount` receives, then the
    /// DLQ's permission to take redrives from the job queue only (it needs the job queue's ARN).
    async fn queues(&mut self) -> Result<(), InfraError> {
        let dlq = "DeadLetterQueue";
        self.queue(dlq, format!("{}-jobs-dlq", self.stack), None)
            .await?;
        let redrive = json!({
            "deadLetterTargetArn": self.attribute(dlq, "Arn"),
            "maxReceiveCount": self.number::<u32>("JobQueue", "/RedrivePolicy/maxReceiveCount")?,
        });
        let jobs = format!("{}-jobs", self.stack);
        self.queue("JobQueue", jobs, Some(redrive)).await?;
        let allow = json!({
            "redrivePermission": self.need(dlq, "/RedriveAllowPolicy/redrivePermission")?,
            "sourceQueueArns": [self.attribute("JobQueue", "Arn")],
        });
        (self
            .sqs
            .set_queue_attributes()
            .queue_url(&self.resources[dlq].reference))
        .attributes(QueueAttributeName::RedriveAllowPolicy, allow.to_string())
        .send()
        .await
        .map_err(InfraError::aws(dlq, "sqs:SetQueueAttributes"))?;
        Ok(())
    }

    async fn queue(
        &mut self,
        id: &str,
        name: String,
        redrive: Option<Value>,
    ) -> Result<(), InfraError> {
        let mut request = self.sqs.create_queue().queue_name(&name);
        for attribute in [
            "SqsManagedSseEnabled",
            "VisibilityTimeout",
            "MessageRetentionPeriod",
        ] {
            if let Some(value) = self.read(id, &format!("/{attribute}")) {
                request = request.attributes(attribute.into(), value);
            }
        }
        if let Some(redrive) = redrive {
            request = request.attributes(QueueAttributeName::RedrivePolicy, redrive.to_string());
        }
        let url = (request.send().await)
            .map_err(InfraError::aws(id, "sqs:CreateQueue"))?
            .queue_url
            .unwrap_or_default();
        let arn = (self.sqs.get_queue_attributes().queue_url(&url))
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(InfraError::aws(id, "sqs:GetQueueAttributes"))?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .unwrap_or_default();
        self.created(id, url, &[("Arn", arn), ("QueueName", name)]);
        Ok(())
    }

    /// Drawn by Secrets Manager's own generator with the template's settings, as CloudFormation
    /// does it.
    async fn secret(&mut self) -> Result<(), InfraError> {
        let id = "ServiceSecret";
        let setting = |name: &str| format!("/GenerateSecretString/{name}");
        let password = (self.secrets.get_random_password())
            .set_password_length(self.number(id, &setting("PasswordLength"))?)
            .set_exclude_punctuation(self.flag(id, &setting("ExcludePunctuation")))
            .set_include_space(self.flag(id, &setting("IncludeSpace")))
            .set_require_each_included_type(self.flag(id, &setting("RequireEachIncludedType")))
            .send()
            .await
            .map_err(InfraError::aws(id, "secretsmanager:GetRandomPassword"))?
            .random_password;
        let arn = (self.secrets.create_secret())
            .name(format!("{}-{id}", self.stack))
            .set_description(self.read(id, "/Description"))
            .set_secret_string(password)
            .send()
            .await
            .map_err(InfraError::aws(id, "secretsmanager:CreateSecret"))?
            .arn
            .unwrap_or_default();
        self.created(id, arn, &[]);
        Ok(())
    }

    async fn topic(&mut self) -> Result<(), InfraError> {
        let id = "AlarmTopic";
        let display = self.read(id, "/DisplayName");
        let arn = (self.sns.create_topic().name(format!("{}-{id}", self.stack)))
            .set_attributes(display.map(|d| [("DisplayName".to_owned(), d)].into()))
            .send()
            .await
            .map_err(InfraError::aws(id, "sns:CreateTopic"))?
            .topic_arn
            .unwrap_or_default();
        self.created(id, arn, &[]);
        Ok(())
    }

    /// Each named `<stack>-<logical id>`, as CloudFormation names them, notifying the topic.
    async fn alarms(&self) -> Result<(), InfraError> {
        let queue_name = |id: &str| Some(self.attribute(id, "QueueName"));
        let single = [
            ("JobQueueDepthAlarm", queue_name("JobQueue")),
            ("DeadLetterQueueAlarm", queue_name("DeadLetterQueue")),
            ("WorkerSystemicFailureAlarm", None),
        ];
        for (id, dimension) in single {
            let metric = self.dimension(id, "/Dimensions/0", dimension);
            let alarm = (self.alarm(id)?)
                .set_namespace(self.read(id, "/Namespace"))
                .set_metric_name(self.read(id, "/MetricName"))
                .dimensions(metric)
                .set_statistic(self.read(id, "/Statistic").map(|s| s.as_str().into()))
                .set_period(self.number(id, "/Period")?);
            alarm
                .send()
                .await
                .map_err(InfraError::aws(id, "cloudwatch:PutMetricAlarm"))?;
        }
        // The oldest job's age as a percentage of the OTP lifetime.
        let id = "JobQueueOldestJobAlarm";
        let (age, percent) = ("/Metrics/0", "/Metrics/1");
        let dimension = self.dimension(
            id,
            "/Metrics/0/MetricStat/Metric/Dimensions/0",
            queue_name("JobQueue"),
        );
        let metric = |field: &str| self.read(id, &format!("{age}/MetricStat/Metric/{field}"));
        let stat = cw::MetricStat::builder()
            .metric(
                cw::Metric::builder()
                    .set_namespace(metric("Namespace"))
                    .set_metric_name(metric("MetricName"))
                    .dimensions(dimension)
                    .build(),
            )
            .set_period(self.number(id, &format!("{age}/MetricStat/Period"))?)
            .set_stat(self.read(id, &format!("{age}/MetricStat/Stat")))
            .build();
        let query = |at: &str| {
            cw::MetricDataQuery::builder()
                .set_id(self.read(id, &format!("{at}/Id")))
                .set_label(self.read(id, &format!("{at}/Label")))
                .set_return_data(self.flag(id, &format!("{at}/ReturnData")))
        };
        let expression = format!("100 * age / {}", self.parameters["TtlSeconds"]);
        (self.alarm(id)?)
            .metrics(query(age).metric_stat(stat).build())
            .metrics(query(percent).expression(expression).build())
            .send()
            .await
            .map_err(InfraError::aws(id, "cloudwatch:PutMetricAlarm"))?;
        Ok(())
    }

    /// What every alarm shares: name, description, comparison and actions.
    fn alarm(
        &self,
        id: &str,
    ) -> Result<
        aws_sdk_cloudwatch::operation::put_metric_alarm::builders::PutMetricAlarmFluentBuilder,
        InfraError,
    > {
        let topic = self.resources["AlarmTopic"].reference.clone();
        Ok((self.cloudwatch.put_metric_alarm())
            .alarm_name(format!("{}-{id}", self.stack))
            .set_alarm_description(self.read(id, "/AlarmDescription"))
            .set_evaluation_periods(self.number(id, "/EvaluationPeriods")?)
            .set_threshold(self.number(id, "/Threshold")?)
            .set_comparison_operator(
                self.read(id, "/ComparisonOperator")
                    .map(|c| c.as_str().into()),
            )
            .set_treat_missing_data(self.read(id, "/TreatMissingData"))
            .alarm_actions(&topic)
            .ok_actions(topic))
    }

    /// The dimension at `pointer`, with `value` when it names a local resource.
    fn dimension(&self, id: &str, pointer: &str, value: Option<String>) -> cw::Dimension {
        (cw::Dimension::builder())
            .set_name(self.read(id, &format!("{pointer}/Name")))
            .set_value(value.or_else(|| self.read(id, &format!("{pointer}/Value"))))
            .build()
    }
}
