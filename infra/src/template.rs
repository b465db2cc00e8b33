//! The SAM template as JSON values. CloudFormation's short tags (`!Ref X`, `!Sub "..."`,
//! `!GetAtt A.B`) become their long forms (`{"Ref": "X"}`, `{"Fn::Sub": "..."}`,
//! `{"Fn::GetAtt": ["A", "B"]}`) while parsing, so everything downstream reads one shape,
//! whichever form the template uses.

use crate::error::InfraError;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// `infra/template.yaml`, compiled in: the binary and the tests read the file they were built
/// with, never a stale copy.
pub const SOURCE: &str = include_str!("../template.yaml");

#[derive(Debug, Clone)]
pub struct Template {
    root: Map<String, Value>,
}

impl Template {
    pub fn bundled() -> Result<Self, InfraError> {
        Self::parse(SOURCE)
    }

    pub fn parse(text: &str) -> Result<Self, InfraError> {
        let invalid =
            |e: &dyn std::fmt::Display| InfraError::Template(format!("not valid YAML: {e}"));
        let yaml: serde_norway::Value = serde_norway::from_str(text).map_err(|e| invalid(&e))?;
        let json = serde_json::to_value(yaml).map_err(|e| invalid(&e))?;
        match long_forms(json) {
            Value::Object(root) => Ok(Self { root }),
            _ => Err(InfraError::Template("the template is not a mapping".into())),
        }
    }

    /// A top-level section (`Parameters`, `Conditions`, `Resources`, `Outputs`...), or an
    /// empty one.
    pub fn section(&self, name: &str) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let section = self.root.get(name).and_then(Value::as_object);
        section.unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    pub fn parameters(&self) -> &Map<String, Value> {
        self.section("Parameters")
    }

    pub fn resources(&self) -> &Map<String, Value> {
        self.section("Resources")
    }

    pub fn resource(&self, id: &str) -> Option<&Value> {
        self.resources().get(id)
    }

    /// The environment shared by every function (`Globals.Function.Environment.Variables`).
    pub fn global_environment(&self) -> Map<String, Value> {
        self.root
            .get("Globals")
            .and_then(|g| g.pointer("/Function/Environment/Variables"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    /// The parameter a variable of the functions' environment is set from (`OTP_TTL_SECONDS`
    /// -> `TtlSeconds`), when it is a plain `!Ref` to a parameter.
    pub fn parameter_for_variable(&self, variable: &str) -> Option<&str> {
        let name = self.global_environment().get(variable)?.get("Ref")?.clone();
        let name = name.as_str()?;
        self.parameters()
            .get_key_value(name)
            .map(|(key, _)| key.as_str())
    }

    /// The reverse of [`Template::parameter_for_variable`].
    pub fn variable_for_parameter(&self, parameter: &str) -> Option<String> {
        self.global_environment()
            .into_iter()
            .find(|(_, value)| value.get("Ref").and_then(Value::as_str) == Some(parameter))
            .map(|(variable, _)| variable)
    }

    /// Every parameter at its default, or at `overrides[name]`, which must satisfy the
    /// parameter's `Type`, `MinValue`/`MaxValue`, `AllowedValues` and lengths as CloudFormation
    /// would check them (`AllowedPattern` is left to the code, which validates its settings).
    /// A refusal names the parameter and the variable it is set from, which is what a user set.
    pub fn parameter_values(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, InfraError> {
        let refuse = |name: &str, problem: String| InfraError::Parameter {
            name: match self.variable_for_parameter(name) {
                Some(variable) => format!("{name} (from {variable})"),
                None => name.to_owned(),
            },
            problem,
        };
        if let Some(unknown) = overrides
            .keys()
            .find(|k| !self.parameters().contains_key(*k))
        {
            return Err(refuse(unknown, "the template has no such parameter".into()));
        }
        let checked = |(name, spec): (&String, &Value)| {
            let given = overrides.get(name).cloned();
            let value = given.or_else(|| spec.get("Default").and_then(scalar));
            let value = value.ok_or_else(|| refuse(name, "no value and no default".into()))?;
            check(spec, &value).map_err(|problem| refuse(name, problem))?;
            Ok((name.clone(), value))
        };
        self.parameters().iter().map(checked).collect()
    }
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

/// Whether `value` satisfies `spec`: a number is bounded by its value, a string by its length.
fn check(spec: &Value, value: &str) -> Result<(), String> {
    if let Some(allowed) = spec.get("AllowedValues").and_then(Value::as_array)
        && !allowed.iter().filter_map(scalar).any(|a| a == value)
    {
        let allowed = Value::from(allowed.clone());
        return Err(format!("{value:?} is not one of {allowed}"));
    }
    let bound = |key: &str| spec.get(key).and_then(scalar)?.trim().parse::<f64>().ok();
    let (size, min, max, unit) = if spec["Type"] == "Number" {
        let number = value.trim().parse::<f64>();
        let number = number.map_err(|_| format!("{value:?} is not a number"))?;
        (number, bound("MinValue"), bound("MaxValue"), "")
    } else {
        let length = value.chars().count() as f64;
        (
            length,
            bound("MinLength"),
            bound("MaxLength"),
            " characters",
        )
    };
    match (min.filter(|min| size < *min), max.filter(|max| size > *max)) {
        (Some(min), _) => Err(format!("{value} is below the minimum, {min}{unit}")),
        (_, Some(max)) => Err(format!("{value} is above the maximum, {max}{unit}")),
        _ => Ok(()),
    }
}

/// `{"!Ref": x}` (how a tagged YAML value serializes) -> `{"Ref": x}`, `{"!Sub": x}` ->
/// `{"Fn::Sub": x}`, `{"!GetAtt": "A.B"}` -> `{"Fn::GetAtt": ["A", "B"]}`, at every depth.
fn long_forms(value: Value) -> Value {
    let entry = |(key, value): (String, Value)| {
        let value = long_forms(value);
        match key.strip_prefix('!') {
            None => (key, value),
            Some(name @ ("Ref" | "Condition")) => (name.to_owned(), value),
            Some("GetAtt") => match value.as_str().and_then(|s| s.split_once('.')) {
                Some((id, attribute)) => ("Fn::GetAtt".to_owned(), json!([id, attribute])),
                None => ("Fn::GetAtt".to_owned(), value),
            },
            Some(name) => (format!("Fn::{name}"), value),
        }
    };
    match value {
        Value::Array(items) => items.into_iter().map(long_forms).collect(),
        Value::Object(map) => Value::Object(map.into_iter().map(entry).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_tags_read_as_their_long_forms() {
        let t = Template::parse(
            "Resources:\n  A:\n    Type: X\n    Properties:\n      \
             R: !Ref P\n      G: !GetAtt Q.Arn\n      S: !Sub \"${AWS::StackName}-x\"\n      \
             I: !If [C, !Select [1, !Split ['@', !Ref E]], !Ref AWS::NoValue]\n      \
             L: { \"Fn::Sub\": y }\n",
        )
        .unwrap();
        let props = &t.resource("A").unwrap()["Properties"];
        assert_eq!(props["R"], json!({"Ref": "P"}));
        assert_eq!(props["G"], json!({"Fn::GetAtt": ["Q", "Arn"]}));
        assert_eq!(props["S"], json!({"Fn::Sub": "${AWS::StackName}-x"}));
        assert_eq!(
            props["I"],
            json!({"Fn::If": ["C", {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "E"}]}]}, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(props["L"], json!({"Fn::Sub": "y"}));
    }

    #[test]
    fn the_bundled_template_parses_and_maps_variables_to_parameters() {
        let t = Template::bundled().unwrap();
        assert_eq!(
            t.parameter_for_variable("OTP_TTL_SECONDS"),
            Some("TtlSeconds")
        );
        // Set from a resource, not a parameter.
        assert_eq!(t.parameter_for_variable("OTP_QUEUE_URL"), None);
        assert!(t.resource("JobQueue").is_some());
    }

    #[test]
    fn overrides_are_checked_like_cloudformation_checks_parameters() {
        let t = Template::parse(
            "Parameters:\n  Mail: {Type: String, Default: '', MaxLength: 5}\n  \
             Ttl: {Type: Number, Default: 600, MinValue: 10, MaxValue: 3600}\n  \
             Arch: {Type: String, Default: x86_64, AllowedValues: [x86_64, arm64]}\n",
        )
        .unwrap();
        let values = |name: &str, value: &str| {
            t.parameter_values(&[(name.to_owned(), value.to_owned())].into())
        };
        for (name, value) in [
            ("Ttl", "9"),
            ("Ttl", "3601"),
            ("Ttl", "ten"),
            ("Arch", "x86"),
            ("Mail", "a@b.example"),
            ("Nope", "1"),
        ] {
            let err = values(name, value).unwrap_err();
            assert!(
                matches!(&err, InfraError::Parameter { name: n, .. } if n == name),
                "{name}={value}: {err}"
            );
        }
        let accepted = values("Ttl", "10").unwrap();
        assert_eq!(accepted["Ttl"], "10");
        assert_eq!(accepted["Arch"], "x86_64");
        assert_eq!(accepted["Mail"], "");
    }
}
