//! The template's intrinsic functions evaluated as CloudFormation would, for the tests that read
//! `infra/template.yaml` as deployed (`template.rs`) or compare the local stack with it
//! (`local_stack.rs`): parameters, pseudo parameters, conditions, `Ref`, `GetAtt`, `Sub`, `If`,
//! `Select` and `Split`. A resource that does not exist resolves to `{{Id}}` or `{{Id.Attribute}}`.

use infra::template::scalar;
use infra::{LocalStack, Physical, Template};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub struct Scope {
    parameters: BTreeMap<String, String>,
    resources: BTreeMap<String, Physical>,
    conditions: Map<String, Value>,
}

impl Scope {
    /// The template as it would deploy as stack `otp-relay` with `overrides`.
    pub fn deployed(template: &Template, overrides: &[(&str, &str)]) -> Self {
        let overrides = overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Self::with(
            template,
            template.parameter_values(&overrides.collect()).unwrap(),
            "otp-relay",
        )
        .resources(BTreeMap::new())
    }

    /// The template as `stack` has it: its parameters and its resources.
    pub fn of(template: &Template, stack: &LocalStack) -> Self {
        Self::with(template, stack.parameters.clone(), &stack.name)
            .resources(stack.resources.clone())
    }

    fn with(template: &Template, mut parameters: BTreeMap<String, String>, stack: &str) -> Self {
        let pseudo = [
            ("AWS::StackName", stack),
            ("AWS::Region", "us-east-1"),
            ("AWS::AccountId", "123456789012"),
            ("AWS::Partition", "aws"),
            ("AWS::URLSuffix", "amazonaws.com"),
        ];
        parameters.extend(pseudo.map(|(k, v)| (k.to_owned(), v.to_owned())));
        Self {
            parameters,
            resources: BTreeMap::new(),
            conditions: template.section("Conditions").clone(),
        }
    }

    fn resources(mut self, resources: BTreeMap<String, Physical>) -> Self {
        self.resources = resources;
        self
    }

    /// Whether a resource is created: its `Condition`, if any, holds.
    pub fn is_active(&self, definition: &Value) -> bool {
        definition
            .get("Condition")
            .and_then(Value::as_str)
            .is_none_or(|c| self.condition(c))
    }

    fn condition(&self, name: &str) -> bool {
        self.boolean(&self.conditions[name])
    }

    fn boolean(&self, expression: &Value) -> bool {
        let (function, args) = expression.as_object().unwrap().iter().next().unwrap();
        match function.as_str() {
            "Condition" => self.condition(args.as_str().unwrap()),
            "Fn::Not" => !self.boolean(&args[0]),
            "Fn::Equals" => self.string(&args[0]) == self.string(&args[1]),
            other => panic!("{other} in a condition"),
        }
    }

    /// `value` with every intrinsic function evaluated; `None` for `AWS::NoValue`.
    pub fn resolve(&self, value: &Value) -> Option<Value> {
        match value {
            Value::Array(items) => Some(items.iter().filter_map(|v| self.resolve(v)).collect()),
            Value::Object(map) => match map.iter().next() {
                Some((f, args)) if map.len() == 1 && (f == "Ref" || f.starts_with("Fn::")) => {
                    self.function(f, args)
                }
                _ => Some(
                    (map.iter())
                        .filter_map(|(k, v)| Some((k.clone(), self.resolve(v)?)))
                        .collect(),
                ),
            },
            other => Some(other.clone()),
        }
    }

    fn string(&self, value: &Value) -> String {
        scalar(&self.resolve(value).unwrap()).unwrap()
    }

    fn function(&self, function: &str, args: &Value) -> Option<Value> {
        Some(Value::from(match function {
            "Ref" if args == "AWS::NoValue" => return None,
            "Ref" => self.reference(args.as_str().unwrap(), None),
            "Fn::GetAtt" => self.reference(args[0].as_str().unwrap(), args[1].as_str()),
            "Fn::Sub" => {
                let (pattern, variables) = match args {
                    Value::Array(pair) => (pair[0].as_str().unwrap(), pair[1].as_object()),
                    other => (other.as_str().unwrap(), None),
                };
                let mut out = String::new();
                let mut rest = pattern;
                while let Some((before, after)) = rest.split_once("${") {
                    let (name, after) = after.split_once('}').unwrap();
                    out.push_str(before);
                    out.push_str(&match variables.and_then(|v| v.get(name)) {
                        Some(value) => self.string(value),
                        None => match name.split_once('.') {
                            Some((id, attribute)) => self.reference(id, Some(attribute)),
                            None => self.reference(name, None),
                        },
                    });
                    rest = after;
                }
                out + rest
            }
            "Fn::If" => {
                let branch = if self.condition(args[0].as_str().unwrap()) {
                    1
                } else {
                    2
                };
                return self.resolve(&args[branch]);
            }
            "Fn::Select" => {
                let index: usize = self.string(&args[0]).parse().unwrap();
                return self.resolve(&args[1]).map(|items| items[index].clone());
            }
            "Fn::Split" => {
                let delimiter = self.string(&args[0]);
                let parts = self.string(&args[1]);
                return Some(parts.split(delimiter.as_str()).collect());
            }
            other => panic!("{other} is not evaluated here; teach tests/tests/api/cfn.rs"),
        }))
    }

    fn reference(&self, name: &str, attribute: Option<&str>) -> String {
        match (attribute, self.resources.get(name)) {
            (None, _) if self.parameters.contains_key(name) => self.parameters[name].clone(),
            (None, Some(physical)) => physical.reference.clone(),
            (Some(attribute), Some(physical)) => physical.attributes[attribute].clone(),
            (None, None) => format!("{{{{{name}}}}}"),
            (Some(attribute), None) => format!("{{{{{name}.{attribute}}}}}"),
        }
    }
}
