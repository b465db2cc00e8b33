//! Evaluating the template's intrinsic functions, the way CloudFormation does, in one stack:
//! parameter values (defaults, or overrides checked against the parameter's constraints),
//! pseudo parameters, conditions, and the references and attributes of resources already made.

use crate::error::InfraError;
use crate::template::Template;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A resource that exists: what `!Ref` gives, and its `!GetAtt` attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Physical {
    pub reference: String,
    pub attributes: BTreeMap<String, String>,
}

/// The pseudo parameters (`AWS::StackName`, `AWS::Region`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pseudo {
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
    pub partition: String,
    pub url_suffix: String,
}

impl Pseudo {
    pub fn new(stack_name: &str, region: &str, account_id: &str) -> Self {
        Self {
            stack_name: stack_name.to_owned(),
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            partition: "aws".to_owned(),
            url_suffix: "amazonaws.com".to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Scope {
    pub parameters: BTreeMap<String, String>,
    pub pseudo: Pseudo,
    pub resources: BTreeMap<String, Physical>,
    /// For reading the template as deployed: a resource that does not exist here resolves to
    /// `{{Id}}` or `{{Id.Attribute}}` instead of failing.
    pub placeholders: bool,
    declared: BTreeSet<String>,
    conditions: Map<String, Value>,
}

impl Scope {
    /// Every parameter at its default, or at `overrides[name]`, which must satisfy the
    /// parameter's `Type`, `MinValue`/`MaxValue`, `AllowedValues` and lengths as CloudFormation
    /// would check them (`AllowedPattern` is left to the code, which validates its settings).
    pub fn new(
        template: &Template,
        pseudo: Pseudo,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self, InfraError> {
        if let Some(unknown) = overrides
            .keys()
            .find(|k| !template.parameters().contains_key(*k))
        {
            return Err(InfraError::Parameter {
                name: unknown.clone(),
                problem: "the template has no such parameter".into(),
            });
        }
        let mut parameters = BTreeMap::new();
        for (name, spec) in template.parameters() {
            let value = parameter_value(name, spec, overrides.get(name))?;
            parameters.insert(name.clone(), value);
        }
        Ok(Self {
            parameters,
            pseudo,
            resources: BTreeMap::new(),
            placeholders: false,
            declared: template.resources().keys().cloned().collect(),
            conditions: template.conditions().clone(),
        })
    }

    /// The template as it would deploy with these parameters, every resource a placeholder.
    pub fn deployed(
        template: &Template,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self, InfraError> {
        let mut scope = Self::new(
            template,
            Pseudo::new("otp-relay", "us-east-1", "123456789012"),
            overrides,
        )?;
        scope.placeholders = true;
        Ok(scope)
    }

    /// Whether a resource (or output) is created: its `Condition`, if any, holds.
    pub fn is_active(&self, definition: &Value) -> Result<bool, InfraError> {
        match definition.get("Condition").and_then(Value::as_str) {
            Some(name) => self.condition(name),
            None => Ok(true),
        }
    }

    pub fn condition(&self, name: &str) -> Result<bool, InfraError> {
        let expression = self
            .conditions
            .get(name)
            .ok_or_else(|| InfraError::Template(format!("no condition named {name}")))?;
        self.boolean(expression)
    }

    fn boolean(&self, expression: &Value) -> Result<bool, InfraError> {
        let (function, args) = single_key(expression)
            .ok_or_else(|| InfraError::Template(format!("not a condition: {expression}")))?;
        let list = |n: usize| -> Result<&Vec<Value>, InfraError> {
            args.as_array()
                .filter(|a| n == 0 || a.len() == n)
                .ok_or_else(|| InfraError::Template(format!("{function} takes a list: {args}")))
        };
        match function {
            "Condition" => self.condition(args.as_str().unwrap_or_default()),
            "Fn::Equals" => {
                let pair = list(2)?;
                let a = self.resolve(&pair[0])?.unwrap_or(Value::Null);
                let b = self.resolve(&pair[1])?.unwrap_or(Value::Null);
                Ok(scalar(&a) == scalar(&b))
            }
            "Fn::Not" => Ok(!self.boolean(&list(1)?[0])?),
            "Fn::And" => list(0)?
                .iter()
                .try_fold(true, |all, c| Ok(all && self.boolean(c)?)),
            "Fn::Or" => list(0)?
                .iter()
                .try_fold(false, |any, c| Ok(any || self.boolean(c)?)),
            other => Err(InfraError::Template(format!(
                "{other} cannot be used in a condition"
            ))),
        }
    }

    /// `value` with every intrinsic function evaluated; `None` for `AWS::NoValue`.
    pub fn resolve(&self, value: &Value) -> Result<Option<Value>, InfraError> {
        match value {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.extend(self.resolve(item)?);
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(map) => {
                if let Some((function, args)) = single_key(value)
                    && (function == "Ref" || function.starts_with("Fn::"))
                {
                    return self.function(function, args);
                }
                let mut out = Map::new();
                for (key, item) in map {
                    if let Some(resolved) = self.resolve(item)? {
                        out.insert(key.clone(), resolved);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    /// Like [`Scope::resolve`], for a value that must be there and be a string.
    pub fn string(&self, value: &Value) -> Result<String, InfraError> {
        self.resolve(value)?
            .as_ref()
            .and_then(scalar)
            .ok_or_else(|| InfraError::Template(format!("{value} is not a string")))
    }

    fn function(&self, function: &str, args: &Value) -> Result<Option<Value>, InfraError> {
        let list = || {
            args.as_array()
                .ok_or_else(|| InfraError::Template(format!("{function} takes a list: {args}")))
        };
        let text = |v: &Value| self.string(v);
        Ok(Some(match function {
            "Ref" => {
                let name = args
                    .as_str()
                    .ok_or_else(|| InfraError::Template(format!("Ref of {args}")))?;
                if name == "AWS::NoValue" {
                    return Ok(None);
                }
                Value::String(self.reference(name, None)?)
            }
            "Fn::GetAtt" => {
                let parts = list()?;
                let (Some(id), Some(attribute)) = (
                    parts.first().and_then(Value::as_str),
                    parts.get(1).and_then(Value::as_str),
                ) else {
                    return Err(InfraError::Template(format!("Fn::GetAtt {args}")));
                };
                Value::String(self.reference(id, Some(attribute))?)
            }
            "Fn::Sub" => {
                let (pattern, variables) = match args {
                    Value::String(s) => (s.clone(), Map::new()),
                    Value::Array(pair) if pair.len() == 2 => (
                        text(&pair[0])?,
                        pair[1].as_object().cloned().unwrap_or_default(),
                    ),
                    _ => return Err(InfraError::Template(format!("Fn::Sub {args}"))),
                };
                let mut local = BTreeMap::new();
                for (name, value) in &variables {
                    local.insert(name.clone(), text(value)?);
                }
                Value::String(self.substitute(&pattern, &local)?)
            }
            "Fn::Join" => {
                let parts = list()?;
                let (Some(delimiter), Some(items)) = (parts.first(), parts.get(1)) else {
                    return Err(InfraError::Template(format!("Fn::Join {args}")));
                };
                let items = self.resolve(items)?.unwrap_or(Value::Null);
                let items = items
                    .as_array()
                    .ok_or_else(|| InfraError::Template(format!("Fn::Join {args}")))?
                    .iter()
                    .map(|v| scalar(v).ok_or_else(|| InfraError::Template(format!("join {v}"))))
                    .collect::<Result<Vec<_>, _>>()?;
                Value::String(items.join(&text(delimiter)?))
            }
            "Fn::Split" => {
                let parts = list()?;
                let (Some(delimiter), Some(source)) = (parts.first(), parts.get(1)) else {
                    return Err(InfraError::Template(format!("Fn::Split {args}")));
                };
                let delimiter = text(delimiter)?;
                Value::from(
                    text(source)?
                        .split(delimiter.as_str())
                        .map(str::to_owned)
                        .collect::<Vec<_>>(),
                )
            }
            "Fn::Select" => {
                let parts = list()?;
                let (Some(index), Some(items)) = (parts.first(), parts.get(1)) else {
                    return Err(InfraError::Template(format!("Fn::Select {args}")));
                };
                let index: usize = text(index)?
                    .parse()
                    .map_err(|_| InfraError::Template(format!("Fn::Select index {index}")))?;
                let items = self.resolve(items)?.unwrap_or(Value::Null);
                items.get(index).cloned().ok_or_else(|| {
                    InfraError::Unresolved(format!("Fn::Select: no item {index} in {items}"))
                })?
            }
            "Fn::If" => {
                let parts = list()?;
                let (Some(name), Some(yes), Some(no)) = (
                    parts.first().and_then(Value::as_str),
                    parts.get(1),
                    parts.get(2),
                ) else {
                    return Err(InfraError::Template(format!("Fn::If {args}")));
                };
                return self.resolve(if self.condition(name)? { yes } else { no });
            }
            other => {
                return Err(InfraError::Template(format!(
                    "{other} is not supported by the template reader; use Ref, Sub, GetAtt, Join, Split, Select or If"
                )));
            }
        }))
    }

    /// What `${name}` or `${Resource.Attribute}` stands for.
    fn reference(&self, name: &str, attribute: Option<&str>) -> Result<String, InfraError> {
        if attribute.is_none() {
            if let Some(value) = self.parameters.get(name) {
                return Ok(value.clone());
            }
            let pseudo = match name {
                "AWS::StackName" => Some(&self.pseudo.stack_name),
                "AWS::Region" => Some(&self.pseudo.region),
                "AWS::AccountId" => Some(&self.pseudo.account_id),
                "AWS::Partition" => Some(&self.pseudo.partition),
                "AWS::URLSuffix" => Some(&self.pseudo.url_suffix),
                _ => None,
            };
            if let Some(value) = pseudo {
                return Ok(value.clone());
            }
        }
        let shown = match attribute {
            Some(a) => format!("{name}.{a}"),
            None => name.to_owned(),
        };
        if let Some(physical) = self.resources.get(name) {
            return match attribute {
                None => Ok(physical.reference.clone()),
                Some(a) => physical.attributes.get(a).cloned().ok_or_else(|| {
                    InfraError::Unresolved(format!("{shown}: the resource has no such attribute"))
                }),
            };
        }
        if !self.declared.contains(name) {
            return Err(InfraError::Template(format!(
                "{shown}: no parameter, pseudo parameter or resource of that name"
            )));
        }
        if self.placeholders {
            return Ok(format!("{{{{{shown}}}}}"));
        }
        Err(InfraError::Unresolved(format!(
            "{shown}: that resource does not exist in this stack"
        )))
    }

    fn substitute(
        &self,
        pattern: &str,
        local: &BTreeMap<String, String>,
    ) -> Result<String, InfraError> {
        let mut out = String::with_capacity(pattern.len());
        for piece in sub_pieces(pattern) {
            match piece {
                SubPiece::Text(text) => out.push_str(text),
                SubPiece::Variable(name) => match local.get(name) {
                    Some(value) => out.push_str(value),
                    None => match name.split_once('.') {
                        Some((id, attribute)) if !self.parameters.contains_key(name) => {
                            out.push_str(&self.reference(id, Some(attribute))?)
                        }
                        _ => out.push_str(&self.reference(name, None)?),
                    },
                },
            }
        }
        Ok(out)
    }
}

enum SubPiece<'a> {
    Text(&'a str),
    Variable(&'a str),
}

/// `a-${B}-${!C}` -> `a-`, var `B`, `-`, `${C}` (the `!` escapes a literal).
fn sub_pieces(pattern: &str) -> Vec<SubPiece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        pieces.push(SubPiece::Text(&rest[..start]));
        let inner = &rest[start + 2..start + len];
        if let Some(literal) = inner.strip_prefix('!') {
            pieces.push(SubPiece::Text("${"));
            pieces.push(SubPiece::Text(literal));
            pieces.push(SubPiece::Text("}"));
        } else {
            pieces.push(SubPiece::Variable(inner.trim()));
        }
        rest = &rest[start + len + 1..];
    }
    pieces.push(SubPiece::Text(rest));
    pieces
}

/// The names a definition refers to: `Ref`, `Fn::GetAtt` and `${...}` in `Fn::Sub` (parameters
/// and pseudo parameters included; a Sub's own variables excluded), and `DependsOn`.
pub fn references(value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect(value, &mut found);
    found
}

fn collect(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect(v, found)),
        Value::Object(map) => {
            if let Some((function, args)) = single_key(value) {
                match function {
                    "Ref" => {
                        found.extend(args.as_str().map(str::to_owned));
                        return;
                    }
                    "Fn::GetAtt" => {
                        found.extend(args.get(0).and_then(Value::as_str).map(str::to_owned));
                        return;
                    }
                    "Fn::Sub" => {
                        let (pattern, local) = match args {
                            Value::Array(pair) => (
                                pair.first().and_then(Value::as_str).unwrap_or_default(),
                                pair.get(1).and_then(Value::as_object),
                            ),
                            other => (other.as_str().unwrap_or_default(), None),
                        };
                        for piece in sub_pieces(pattern) {
                            if let SubPiece::Variable(name) = piece
                                && !local.is_some_and(|l| l.contains_key(name))
                            {
                                let id = name.split_once('.').map_or(name, |(id, _)| id);
                                found.insert(id.to_owned());
                            }
                        }
                        if let Some(local) = local {
                            local.values().for_each(|v| collect(v, found));
                        }
                        return;
                    }
                    _ => {}
                }
            }
            for (key, item) in map {
                if key == "DependsOn" {
                    match item {
                        Value::String(s) => {
                            found.insert(s.clone());
                        }
                        Value::Array(ids) => {
                            found.extend(ids.iter().filter_map(Value::as_str).map(str::to_owned))
                        }
                        _ => {}
                    }
                } else {
                    collect(item, found);
                }
            }
        }
        _ => {}
    }
}

fn single_key(value: &Value) -> Option<(&str, &Value)> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.iter().next().map(|(k, v)| (k.as_str(), v))
}

/// A scalar as CloudFormation passes it on: a string.
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parameter_value(name: &str, spec: &Value, given: Option<&String>) -> Result<String, InfraError> {
    let problem = |problem: String| InfraError::Parameter {
        name: name.to_owned(),
        problem,
    };
    let value = match given {
        Some(v) => v.clone(),
        None => spec
            .get("Default")
            .and_then(scalar)
            .ok_or_else(|| problem("no value given and no default".into()))?,
    };
    let number = |v: &Value| scalar(v).and_then(|s| s.parse::<f64>().ok());
    if spec["Type"] == "Number" {
        let n: f64 = value
            .trim()
            .parse()
            .map_err(|_| problem(format!("{value:?} is not a number")))?;
        if let Some(min) = spec.get("MinValue").and_then(number)
            && n < min
        {
            return Err(problem(format!("{value} is below the minimum, {min}")));
        }
        if let Some(max) = spec.get("MaxValue").and_then(number)
            && n > max
        {
            return Err(problem(format!("{value} is above the maximum, {max}")));
        }
        if let Some(allowed) = spec.get("AllowedValues").and_then(Value::as_array)
            && !allowed.iter().any(|a| number(a) == Some(n))
        {
            return Err(problem(format!(
                "{value} is not one of {}",
                Value::from(allowed.clone())
            )));
        }
    } else {
        if let Some(allowed) = spec.get("AllowedValues").and_then(Value::as_array)
            && !allowed
                .iter()
                .any(|a| scalar(a).as_deref() == Some(value.as_str()))
        {
            return Err(problem(format!(
                "{value:?} is not one of {}",
                Value::from(allowed.clone())
            )));
        }
        let length = value.chars().count() as f64;
        if let Some(min) = spec.get("MinLength").and_then(number)
            && length < min
        {
            return Err(problem(format!("shorter than {min} characters")));
        }
        if let Some(max) = spec.get("MaxLength").and_then(number)
            && length > max
        {
            return Err(problem(format!("longer than {max} characters")));
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(overrides: &[(&str, &str)]) -> Result<Scope, InfraError> {
        let template = Template::parse(
            "Parameters:\n  Mail: {Type: String, Default: ''}\n  \
             Ttl: {Type: Number, Default: 600, MinValue: 10, MaxValue: 3600}\n  \
             Arch: {Type: String, Default: x86_64, AllowedValues: [x86_64, arm64]}\n\
             Conditions:\n  HasMail: !Not [!Equals [!Ref Mail, '']]\n\
             Resources:\n  Q: {Type: AWS::SQS::Queue}\n  F: {Type: AWS::Serverless::Function}\n",
        )
        .unwrap();
        let overrides = overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut scope = Scope::new(&template, Pseudo::new("st", "eu-west-1", "111"), &overrides)?;
        scope.resources.insert(
            "Q".into(),
            Physical {
                reference: "https://q".into(),
                attributes: [("Arn".to_owned(), "arn:q".to_owned())].into(),
            },
        );
        Ok(scope)
    }

    #[test]
    fn intrinsics_evaluate_as_cloudformation_does() {
        let s = scope(&[("Mail", "no-reply@example.com")]).unwrap();
        let cases = [
            (json!({"Ref": "Ttl"}), json!("600")),
            (json!({"Ref": "Q"}), json!("https://q")),
            (json!({"Fn::GetAtt": ["Q", "Arn"]}), json!("arn:q")),
            (
                json!({"Fn::Sub": "${AWS::StackName}-${Q.Arn}-${!Literal}-${AWS::Region}"}),
                json!("st-arn:q-${Literal}-eu-west-1"),
            ),
            (
                json!({"Fn::Sub": ["id/${D}", {"D": {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "Mail"}]}]}}]}),
                json!("id/example.com"),
            ),
            (
                json!({"Fn::Join": ["-", ["a", {"Ref": "Ttl"}]]}),
                json!("a-600"),
            ),
            (json!({"Fn::If": ["HasMail", "yes", "no"]}), json!("yes")),
            (
                json!(["a", {"Ref": "AWS::NoValue"}, "b"]),
                json!(["a", "b"]),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(s.resolve(&input).unwrap(), Some(expected), "{input}");
        }
        assert!(!scope(&[]).unwrap().condition("HasMail").unwrap());
    }

    #[test]
    fn a_resource_that_was_not_made_is_an_error_or_a_placeholder() {
        let mut s = scope(&[]).unwrap();
        let f = json!({"Fn::GetAtt": ["F", "Arn"]});
        assert!(matches!(s.resolve(&f), Err(InfraError::Unresolved(_))));
        s.placeholders = true;
        assert_eq!(s.resolve(&f).unwrap(), Some(json!("{{F.Arn}}")));
        assert!(matches!(
            s.resolve(&json!({"Ref": "Nope"})),
            Err(InfraError::Template(_))
        ));
    }

    #[test]
    fn overrides_are_checked_like_cloudformation_checks_parameters() {
        for (name, value) in [
            ("Ttl", "9"),
            ("Ttl", "3601"),
            ("Ttl", "ten"),
            ("Arch", "x86"),
        ] {
            let err = scope(&[(name, value)]).unwrap_err();
            assert!(
                matches!(&err, InfraError::Parameter { name: n, .. } if n == name),
                "{name}={value}: {err}"
            );
        }
        assert!(scope(&[("Nope", "1")]).is_err());
        assert_eq!(scope(&[("Ttl", "10")]).unwrap().parameters["Ttl"], "10");
    }

    #[test]
    fn references_name_what_a_definition_depends_on() {
        let found = references(&json!({
            "A": {"Ref": "Q"},
            "B": {"Fn::Sub": ["${X}-${F.Arn}-${AWS::Region}", {"X": {"Ref": "Ttl"}}]},
            "DependsOn": ["G"]
        }));
        let expected: BTreeSet<String> = ["Q", "F", "AWS::Region", "Ttl", "G"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(found, expected);
    }
}
