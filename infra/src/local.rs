//! The local stack: every resource of the template that has a local counterpart, created through
//! the AWS SDK wherever the standard environment points (moto for `make dev` and the tests).
//!
//! A resource is local when its type is one of [`LOCAL_TYPES`], its condition holds, and
//! everything it refers to is local too. So the table, the queues with their redrive policies,
//! the secret, the alarm topic and the queue and worker-metric alarms are made from their
//! definitions; the functions, roles, log groups and HTTP API (and the alarms and dashboard that
//! name them) are not. A property the provisioner does not know fails loudly instead of being
//! dropped, so a new setting in the template can never silently go missing locally.

use crate::error::InfraError;
use crate::resolve::{Physical, Pseudo, Scope, references, scalar};
use crate::template::Template;
use aws_sdk_cloudwatch::types as cw;
use aws_sdk_dynamodb::types as ddb;
use common::error::describe_sdk_error;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The resource types the local stack creates.
pub const LOCAL_TYPES: [&str; 6] = [
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SecretsManager::Secret",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::CloudWatch::Alarm",
];

#[derive(Debug, Clone)]
pub struct LocalStack {
    pub name: String,
    /// The parameters, pseudo parameters and created resources: resolves any part of the
    /// template as it is in this stack.
    pub scope: Scope,
    /// The functions' environment as deployed (`OTP_TABLE_NAME`, `OTP_QUEUE_URL`,
    /// `OTP_SECRET_ARN` and every setting), resolved against the local resources.
    pub environment: BTreeMap<String, String>,
    /// The template's outputs that can be resolved locally.
    pub outputs: BTreeMap<String, String>,
    /// Resources left out, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Which resources the local stack has.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The local resources in creation order, each after what it refers to.
    pub order: Vec<String>,
    /// The others, each with the reason it is left out.
    pub skipped: Vec<(String, String)>,
}

pub fn plan(template: &Template, scope: &Scope) -> Result<Plan, InfraError> {
    let declared: BTreeSet<&str> = template.resources().keys().map(String::as_str).collect();
    let mut skipped = Vec::new();
    let mut candidates: Vec<(String, BTreeSet<String>)> = Vec::new();
    for (id, definition) in template.resources() {
        let kind = definition["Type"].as_str().unwrap_or_default();
        if !LOCAL_TYPES.contains(&kind) {
            skipped.push((id.clone(), format!("{kind} has no local counterpart")));
        } else if !scope.is_active(definition)? {
            skipped.push((id.clone(), "its condition is false".to_owned()));
        } else {
            let needs = references(definition)
                .into_iter()
                .filter(|name| declared.contains(name.as_str()))
                .collect();
            candidates.push((id.clone(), needs));
        }
    }
    // Drop whatever refers to something that is not local, until nothing changes.
    loop {
        let present: BTreeSet<String> = candidates.iter().map(|(id, _)| id.clone()).collect();
        let before = candidates.len();
        candidates.retain(
            |(id, needs)| match needs.iter().find(|n| !present.contains(*n)) {
                Some(missing) => {
                    skipped.push((
                        id.clone(),
                        format!("it refers to {missing}, which is not local"),
                    ));
                    false
                }
                None => true,
            },
        );
        if candidates.len() == before {
            break;
        }
    }
    let mut order: Vec<String> = Vec::new();
    while order.len() < candidates.len() {
        let next = candidates
            .iter()
            .find(|(id, needs)| !order.contains(id) && needs.iter().all(|n| order.contains(n)))
            .ok_or_else(|| {
                InfraError::Template("the local resources refer to each other in a cycle".into())
            })?;
        order.push(next.0.clone());
    }
    Ok(Plan { order, skipped })
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
    let region = sdk
        .region()
        .map(ToString::to_string)
        .unwrap_or_else(|| "us-east-1".to_owned());
    let account = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws_error("the stack", "sts:GetCallerIdentity", &e))?
        .account
        .unwrap_or_else(|| "123456789012".to_owned());
    let mut scope = Scope::new(
        template,
        Pseudo::new(stack_name, &region, &account),
        overrides,
    )?;
    let Plan { order, skipped } = plan(template, &scope)?;
    let clients = Clients::new(sdk);
    for id in order {
        let definition = &template.resources()[&id];
        let kind = definition["Type"].as_str().unwrap_or_default();
        let properties = match definition.get("Properties") {
            Some(p) => scope.resolve(p)?.unwrap_or_default(),
            None => Value::Object(Map::new()),
        };
        let properties = Props {
            id: &id,
            kind,
            map: properties.as_object().cloned().unwrap_or_default(),
        };
        let physical = clients.create(&scope, properties).await?;
        tracing::debug!(resource = %id, reference = %physical.reference, "created");
        scope.resources.insert(id, physical);
    }
    let mut environment = BTreeMap::new();
    for (variable, value) in template.global_environment() {
        match scope.string(&value) {
            Ok(value) => {
                environment.insert(variable, value);
            }
            Err(InfraError::Unresolved(_)) => {}
            Err(other) => return Err(other),
        }
    }
    let mut outputs = BTreeMap::new();
    for (name, output) in template.outputs() {
        if !scope.is_active(output)? {
            continue;
        }
        match scope.string(&output["Value"]) {
            Ok(value) => {
                outputs.insert(name.clone(), value);
            }
            Err(InfraError::Unresolved(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(LocalStack {
        name: stack_name.to_owned(),
        scope,
        environment,
        outputs,
        skipped,
    })
}

/// Outside the stack, a deployment needs a verified SES identity for the sender (docs/deploy.md
/// says how); locally, creating it is all it takes (moto verifies at once).
pub async fn verify_sender(sdk: &aws_config::SdkConfig, address: &str) -> Result<(), InfraError> {
    let result = aws_sdk_sesv2::Client::new(sdk)
        .create_email_identity()
        .email_identity(address)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(aws_error(address, "sesv2:CreateEmailIdentity", &e)),
    }
}

fn aws_error<E, R>(
    resource: &str,
    operation: &str,
    err: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> InfraError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    InfraError::Aws {
        resource: resource.to_owned(),
        detail: format!("{operation}: {}", describe_sdk_error(err)),
    }
}

/// One resource's resolved properties.
struct Props<'a> {
    id: &'a str,
    kind: &'a str,
    map: Map<String, Value>,
}

impl Props<'_> {
    /// Refuses properties outside `known`: better a loud failure than a local stack that
    /// quietly differs from the template.
    fn only(&self, known: &[&str]) -> Result<(), InfraError> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(InfraError::Template(format!(
                "{}: the local stack does not know the {} property {unknown}; teach infra/src/local.rs",
                self.id, self.kind
            ))),
            None => Ok(()),
        }
    }

    fn text(&self, key: &str) -> Option<String> {
        self.map.get(key).and_then(scalar)
    }

    fn number(&self, key: &str) -> Result<Option<f64>, InfraError> {
        self.text(key)
            .map(|t| {
                t.parse().map_err(|_| {
                    InfraError::Template(format!("{}.{key}: {t:?} is not a number", self.id))
                })
            })
            .transpose()
    }

    fn int(&self, key: &str) -> Result<Option<i32>, InfraError> {
        Ok(self.number(key)?.map(|n| n as i32))
    }

    fn flag(&self, key: &str) -> Option<bool> {
        self.text(key).map(|t| t == "true")
    }

    fn list(&self, key: &str) -> Vec<String> {
        self.map
            .get(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(scalar).collect())
            .unwrap_or_default()
    }

    /// The explicit name, or one made like CloudFormation makes them: stack and logical id.
    fn name(&self, key: &str, stack: &str) -> String {
        self.text(key)
            .unwrap_or_else(|| format!("{stack}-{}", self.id))
    }

    fn build_error(&self, err: impl std::fmt::Display) -> InfraError {
        InfraError::Template(format!("{}: {err}", self.id))
    }
}

struct Clients {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    secrets: aws_sdk_secretsmanager::Client,
}

impl Clients {
    fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
        }
    }

    async fn create(&self, scope: &Scope, p: Props<'_>) -> Result<Physical, InfraError> {
        match p.kind {
            "AWS::DynamoDB::Table" => self.table(scope, &p).await,
            "AWS::SQS::Queue" => self.queue(scope, &p).await,
            "AWS::SecretsManager::Secret" => self.secret(scope, &p).await,
            "AWS::SNS::Topic" => self.topic(scope, &p).await,
            "AWS::SNS::Subscription" => self.subscription(&p).await,
            "AWS::CloudWatch::Alarm" => self.alarm(scope, &p).await,
            other => Err(InfraError::Template(format!(
                "{other} has no local counterpart"
            ))),
        }
    }

    async fn table(&self, scope: &Scope, p: &Props<'_>) -> Result<Physical, InfraError> {
        p.only(&[
            "TableName",
            "BillingMode",
            "AttributeDefinitions",
            "KeySchema",
            "TimeToLiveSpecification",
            "PointInTimeRecoverySpecification",
            "SSESpecification",
        ])?;
        let name = p.name("TableName", &scope.pseudo.stack_name);
        let field = |item: &Value, key: &str| item.get(key).and_then(scalar).unwrap_or_default();
        let mut request = self.dynamodb.create_table().table_name(&name);
        for item in p
            .map
            .get("KeySchema")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            request = request.key_schema(
                ddb::KeySchemaElement::builder()
                    .attribute_name(field(item, "AttributeName"))
                    .key_type(ddb::KeyType::from(field(item, "KeyType").as_str()))
                    .build()
                    .map_err(|e| p.build_error(e))?,
            );
        }
        for item in p
            .map
            .get("AttributeDefinitions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            request = request.attribute_definitions(
                ddb::AttributeDefinition::builder()
                    .attribute_name(field(item, "AttributeName"))
                    .attribute_type(ddb::ScalarAttributeType::from(
                        field(item, "AttributeType").as_str(),
                    ))
                    .build()
                    .map_err(|e| p.build_error(e))?,
            );
        }
        if let Some(mode) = p.text("BillingMode") {
            request = request.billing_mode(ddb::BillingMode::from(mode.as_str()));
        }
        if let Some(sse) = p.map.get("SSESpecification") {
            request = request.sse_specification(
                ddb::SseSpecification::builder()
                    .enabled(field(sse, "SSEEnabled") == "true")
                    .build(),
            );
        }
        let created = request
            .send()
            .await
            .map_err(|e| aws_error(p.id, "dynamodb:CreateTable", &e))?;
        if let Some(ttl) = p.map.get("TimeToLiveSpecification") {
            self.dynamodb
                .update_time_to_live()
                .table_name(&name)
                .time_to_live_specification(
                    ddb::TimeToLiveSpecification::builder()
                        .attribute_name(field(ttl, "AttributeName"))
                        .enabled(field(ttl, "Enabled") == "true")
                        .build()
                        .map_err(|e| p.build_error(e))?,
                )
                .send()
                .await
                .map_err(|e| aws_error(p.id, "dynamodb:UpdateTimeToLive", &e))?;
        }
        if let Some(pitr) = p.map.get("PointInTimeRecoverySpecification") {
            self.dynamodb
                .update_continuous_backups()
                .table_name(&name)
                .point_in_time_recovery_specification(
                    ddb::PointInTimeRecoverySpecification::builder()
                        .point_in_time_recovery_enabled(
                            field(pitr, "PointInTimeRecoveryEnabled") == "true",
                        )
                        .build()
                        .map_err(|e| p.build_error(e))?,
                )
                .send()
                .await
                .map_err(|e| aws_error(p.id, "dynamodb:UpdateContinuousBackups", &e))?;
        }
        let arn = created
            .table_description
            .and_then(|d| d.table_arn)
            .unwrap_or_default();
        Ok(Physical {
            reference: name,
            attributes: [("Arn".to_owned(), arn)].into(),
        })
    }

    /// Every property but the name is a queue attribute of the same name; policies (objects)
    /// are passed as the JSON text SQS expects.
    async fn queue(&self, scope: &Scope, p: &Props<'_>) -> Result<Physical, InfraError> {
        if p.map.contains_key("Tags") {
            return Err(p.build_error("Tags are not supported locally"));
        }
        let name = p.name("QueueName", &scope.pseudo.stack_name);
        let mut request = self.sqs.create_queue().queue_name(&name);
        for (key, value) in p.map.iter().filter(|(k, _)| *k != "QueueName") {
            let text = match value {
                Value::Object(_) | Value::Array(_) => value.to_string(),
                other => scalar(other).unwrap_or_default(),
            };
            request = request.attributes(
                aws_sdk_sqs::types::QueueAttributeName::from(key.as_str()),
                text,
            );
        }
        let url = request
            .send()
            .await
            .map_err(|e| aws_error(p.id, "sqs:CreateQueue", &e))?
            .queue_url
            .unwrap_or_default();
        let arn_name = aws_sdk_sqs::types::QueueAttributeName::QueueArn;
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(arn_name.clone())
            .send()
            .await
            .map_err(|e| aws_error(p.id, "sqs:GetQueueAttributes", &e))?
            .attributes
            .and_then(|mut a| a.remove(&arn_name))
            .unwrap_or_default();
        Ok(Physical {
            reference: url.clone(),
            attributes: [
                ("Arn".to_owned(), arn),
                ("QueueName".to_owned(), name),
                ("QueueUrl".to_owned(), url),
            ]
            .into(),
        })
    }

    /// A generated secret is drawn by Secrets Manager's own generator with the template's
    /// settings, as CloudFormation does it.
    async fn secret(&self, scope: &Scope, p: &Props<'_>) -> Result<Physical, InfraError> {
        p.only(&[
            "Name",
            "Description",
            "SecretString",
            "GenerateSecretString",
        ])?;
        let name = p.name("Name", &scope.pseudo.stack_name);
        let value = match (p.text("SecretString"), p.map.get("GenerateSecretString")) {
            (Some(literal), _) => literal,
            (None, Some(Value::Object(settings))) => {
                let g = Props {
                    id: p.id,
                    kind: "GenerateSecretString",
                    map: settings.clone(),
                };
                g.only(&[
                    "PasswordLength",
                    "ExcludePunctuation",
                    "IncludeSpace",
                    "RequireEachIncludedType",
                    "ExcludeCharacters",
                    "ExcludeNumbers",
                    "ExcludeLowercase",
                    "ExcludeUppercase",
                ])?;
                self.secrets
                    .get_random_password()
                    .set_password_length(g.number("PasswordLength")?.map(|n| n as i64))
                    .set_exclude_punctuation(g.flag("ExcludePunctuation"))
                    .set_include_space(g.flag("IncludeSpace"))
                    .set_require_each_included_type(g.flag("RequireEachIncludedType"))
                    .set_exclude_characters(g.text("ExcludeCharacters"))
                    .set_exclude_numbers(g.flag("ExcludeNumbers"))
                    .set_exclude_lowercase(g.flag("ExcludeLowercase"))
                    .set_exclude_uppercase(g.flag("ExcludeUppercase"))
                    .send()
                    .await
                    .map_err(|e| aws_error(p.id, "secretsmanager:GetRandomPassword", &e))?
                    .random_password
                    .unwrap_or_default()
            }
            _ => return Err(p.build_error("needs SecretString or GenerateSecretString")),
        };
        let arn = self
            .secrets
            .create_secret()
            .name(&name)
            .set_description(p.text("Description"))
            .secret_string(value)
            .send()
            .await
            .map_err(|e| aws_error(p.id, "secretsmanager:CreateSecret", &e))?
            .arn
            .unwrap_or_default();
        Ok(Physical {
            reference: arn,
            attributes: [("Id".to_owned(), name)].into(),
        })
    }

    async fn topic(&self, scope: &Scope, p: &Props<'_>) -> Result<Physical, InfraError> {
        p.only(&["TopicName", "DisplayName"])?;
        let name = p.name("TopicName", &scope.pseudo.stack_name);
        let arn = self
            .sns
            .create_topic()
            .name(&name)
            .set_attributes(
                p.text("DisplayName")
                    .map(|d| [("DisplayName".to_owned(), d)].into()),
            )
            .send()
            .await
            .map_err(|e| aws_error(p.id, "sns:CreateTopic", &e))?
            .topic_arn
            .unwrap_or_default();
        Ok(Physical {
            reference: arn.clone(),
            attributes: [("TopicArn".to_owned(), arn), ("TopicName".to_owned(), name)].into(),
        })
    }

    async fn subscription(&self, p: &Props<'_>) -> Result<Physical, InfraError> {
        p.only(&["TopicArn", "Protocol", "Endpoint"])?;
        let arn = self
            .sns
            .subscribe()
            .set_topic_arn(p.text("TopicArn"))
            .set_protocol(p.text("Protocol"))
            .set_endpoint(p.text("Endpoint"))
            .send()
            .await
            .map_err(|e| aws_error(p.id, "sns:Subscribe", &e))?
            .subscription_arn
            .unwrap_or_default();
        Ok(Physical {
            reference: arn,
            attributes: BTreeMap::new(),
        })
    }

    async fn alarm(&self, scope: &Scope, p: &Props<'_>) -> Result<Physical, InfraError> {
        p.only(&[
            "AlarmName",
            "AlarmDescription",
            "Namespace",
            "MetricName",
            "Dimensions",
            "Statistic",
            "Period",
            "EvaluationPeriods",
            "DatapointsToAlarm",
            "Threshold",
            "ComparisonOperator",
            "TreatMissingData",
            "AlarmActions",
            "OKActions",
            "InsufficientDataActions",
            "Metrics",
        ])?;
        let name = p.name("AlarmName", &scope.pseudo.stack_name);
        let mut request = self
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(&name)
            .set_alarm_description(p.text("AlarmDescription"))
            .set_namespace(p.text("Namespace"))
            .set_metric_name(p.text("MetricName"))
            .set_statistic(p.text("Statistic").map(|s| cw::Statistic::from(s.as_str())))
            .set_period(p.int("Period")?)
            .set_evaluation_periods(p.int("EvaluationPeriods")?)
            .set_datapoints_to_alarm(p.int("DatapointsToAlarm")?)
            .set_threshold(p.number("Threshold")?)
            .set_comparison_operator(
                p.text("ComparisonOperator")
                    .map(|c| cw::ComparisonOperator::from(c.as_str())),
            )
            .set_treat_missing_data(p.text("TreatMissingData"))
            .set_alarm_actions(Some(p.list("AlarmActions")))
            .set_ok_actions(Some(p.list("OKActions")))
            .set_insufficient_data_actions(Some(p.list("InsufficientDataActions")));
        if let Some(dimensions) = p.map.get("Dimensions") {
            request = request.set_dimensions(Some(dimensions_of(dimensions)));
        }
        for query in p
            .map
            .get("Metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            request = request.metrics(metric_query(p, query)?);
        }
        request
            .send()
            .await
            .map_err(|e| aws_error(p.id, "cloudwatch:PutMetricAlarm", &e))?;
        let arn = format!(
            "arn:{}:cloudwatch:{}:{}:alarm:{name}",
            scope.pseudo.partition, scope.pseudo.region, scope.pseudo.account_id
        );
        Ok(Physical {
            reference: name,
            attributes: [("Arn".to_owned(), arn)].into(),
        })
    }
}

fn dimensions_of(value: &Value) -> Vec<cw::Dimension> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            cw::Dimension::builder()
                .set_name(d.get("Name").and_then(scalar))
                .set_value(d.get("Value").and_then(scalar))
                .build()
        })
        .collect()
}

fn metric_query(p: &Props<'_>, query: &Value) -> Result<cw::MetricDataQuery, InfraError> {
    let q = Props {
        id: p.id,
        kind: "MetricDataQuery",
        map: query.as_object().cloned().unwrap_or_default(),
    };
    q.only(&[
        "Id",
        "Expression",
        "Label",
        "ReturnData",
        "Period",
        "MetricStat",
    ])?;
    let stat = match q.map.get("MetricStat") {
        None => None,
        Some(stat) => {
            let s = Props {
                id: p.id,
                kind: "MetricStat",
                map: stat.as_object().cloned().unwrap_or_default(),
            };
            s.only(&["Metric", "Period", "Stat", "Unit"])?;
            let metric = s.map.get("Metric").cloned().unwrap_or_default();
            let m = Props {
                id: p.id,
                kind: "Metric",
                map: metric.as_object().cloned().unwrap_or_default(),
            };
            m.only(&["Namespace", "MetricName", "Dimensions"])?;
            Some(
                cw::MetricStat::builder()
                    .metric(
                        cw::Metric::builder()
                            .set_namespace(m.text("Namespace"))
                            .set_metric_name(m.text("MetricName"))
                            .set_dimensions(m.map.get("Dimensions").map(dimensions_of))
                            .build(),
                    )
                    .set_period(s.int("Period")?)
                    .set_stat(s.text("Stat"))
                    .set_unit(s.text("Unit").map(|u| cw::StandardUnit::from(u.as_str())))
                    .build(),
            )
        }
    };
    Ok(cw::MetricDataQuery::builder()
        .set_id(q.text("Id"))
        .set_expression(q.text("Expression"))
        .set_label(q.text("Label"))
        .set_return_data(q.flag("ReturnData"))
        .set_period(q.int("Period")?)
        .set_metric_stat(stat)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_stack_is_the_data_the_secret_and_the_queue_alarms() {
        let template = Template::bundled().unwrap();
        let scope = Scope::deployed(&template, &BTreeMap::new()).unwrap();
        let Plan { order, skipped } = plan(&template, &scope).unwrap();
        let local: BTreeSet<&str> = order.iter().map(String::as_str).collect();
        for id in [
            "Table",
            "JobQueue",
            "DeadLetterQueue",
            "ServiceSecret",
            "AlarmTopic",
            "JobQueueDepthAlarm",
            "JobQueueOldestJobAlarm",
            "DeadLetterQueueAlarm",
            "WorkerSystemicFailureAlarm",
        ] {
            assert!(local.contains(id), "{id} should be local: {skipped:?}");
        }
        // The DLQ first: the job queue's redrive policy names it.
        let position = |id: &str| order.iter().position(|o| o == id).unwrap();
        assert!(position("DeadLetterQueue") < position("JobQueue"));
        assert!(position("AlarmTopic") < position("DeadLetterQueueAlarm"));
        let skipped: BTreeMap<&str, &str> = skipped
            .iter()
            .map(|(id, why)| (id.as_str(), why.as_str()))
            .collect();
        assert!(skipped["ApiFunction"].contains("no local counterpart"));
        assert!(skipped["WorkerErrorsAlarm"].contains("WorkerFunction"));
        assert!(skipped["Api5xxRateAlarm"].contains("HttpApi"));
        assert!(skipped["AlarmEmailSubscription"].contains("condition"));
        assert_eq!(local.len() + skipped.len(), template.resources().len());
    }

    #[test]
    fn set_otp_variables_override_their_parameters() {
        let template = Template::bundled().unwrap();
        let overrides = overrides_from_env(&template, |name| match name {
            "OTP_TTL_SECONDS" => Some("120".into()),
            "OTP_EMAIL_FROM" => Some("a@b.example".into()),
            "OTP_BRAND_NAME" => Some("  ".into()),
            _ => None,
        });
        let expected: BTreeMap<String, String> = [
            ("TtlSeconds".to_owned(), "120".to_owned()),
            ("EmailFrom".to_owned(), "a@b.example".to_owned()),
        ]
        .into();
        assert_eq!(overrides, expected);
    }
}
