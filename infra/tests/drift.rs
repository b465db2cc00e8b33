//! The drift test: the local stack (`infra/src/local.rs`) mirrors every resource and property of
//! `template.yaml`, or leaves the resource out for a reason it gives (`infra::local::resources`). A resource, a property or
//! a wired value (a name, an ARN, a redrive target) that the template gains or changes alone
//! fails here, with what to do.
#![allow(clippy::unwrap_used)]

use infra::local::{READ, resources};
use serde_json::Value;
use std::collections::BTreeSet;

const FIX: &str = "the local stack would differ from the deployed one: create it in infra/src/local.rs \
                   and declare it in `resources()` there (or, for a resource with no local meaning, \
                   give the reason there instead)";

/// Where `mirrored` and `template` differ, one line each, below `at`.
fn differences(
    at: &str,
    mirrored: &Value,
    template: &Value,
    parameters: &[&str],
    out: &mut Vec<String>,
) {
    match (mirrored, template) {
        (Value::String(read), value) if read == READ => {
            let parameter = value
                .get("Ref")
                .and_then(Value::as_str)
                .is_some_and(|r| parameters.contains(&r));
            if !(value.is_string() || value.is_number() || value.is_boolean() || parameter) {
                out.push(format!("{at}: the template's value {value} is no longer a literal or a parameter, which is all the local stack reads"));
            }
        }
        (Value::Object(m), Value::Object(t))
            if !m.keys().any(|k| k == "Ref" || k.starts_with("Fn::")) =>
        {
            for key in m.keys().chain(t.keys()).collect::<BTreeSet<_>>() {
                match (m.get(key), t.get(key)) {
                    (Some(m), Some(t)) => {
                        differences(&format!("{at}.{key}"), m, t, parameters, out)
                    }
                    (None, Some(t)) => out.push(format!(
                        "{at}.{key}: the template sets it ({t}), the local stack does not mirror it"
                    )),
                    (Some(_), None) => out.push(format!(
                        "{at}.{key}: the local stack mirrors it, the template no longer has it"
                    )),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(m), Value::Array(t)) if m.len() == t.len() => {
            for (i, (m, t)) in m.iter().zip(t).enumerate() {
                differences(&format!("{at}[{i}]"), m, t, parameters, out);
            }
        }
        (m, t) if m != t => out.push(format!(
            "{at}: the template has {t}, the local stack implements {m}"
        )),
        _ => {}
    }
}

#[test]
fn the_local_stack_mirrors_every_resource_and_property_of_the_template() {
    let template = infra::Template::bundled().unwrap();
    let parameters: Vec<&str> = template.parameters().keys().map(String::as_str).collect();
    let declared = resources();
    let declared = declared.as_object().unwrap();
    let mut out = Vec::new();
    for id in template
        .resources()
        .keys()
        .chain(declared.keys())
        .collect::<BTreeSet<_>>()
    {
        match (declared.get(id), template.resource(id)) {
            (None, Some(definition)) => out.push(format!(
                "{id} ({}): a resource the local stack neither mirrors nor leaves out with a reason",
                definition["Type"]
            )),
            (Some(_), None) => out.push(format!(
                "{id}: declared in infra/src/local.rs, but the template has no such resource"
            )),
            (Some(Value::String(_)), Some(_)) | (None, None) => {}
            (Some(mirrored), Some(definition)) => {
                differences(id, mirrored, definition, &parameters, &mut out)
            }
        }
    }
    assert!(out.is_empty(), "{}\n\n{FIX}", out.join("\n"));
}

/// The check itself: a property, a changed wiring, a new resource and a property that stopped
/// being a literal are each caught.
#[test]
fn the_comparison_catches_each_kind_of_drift() {
    let mirrored =
        serde_json::json!({"A": READ, "N": {"Fn::Sub": "${AWS::StackName}-jobs"}, "R": {"x": 1}});
    let cases = [
        (
            serde_json::json!({"A": 5, "N": {"Fn::Sub": "${AWS::StackName}-jobs"}, "R": {"x": 1}}),
            0,
        ),
        (
            serde_json::json!({"A": {"Ref": "P"}, "N": {"Fn::Sub": "${AWS::StackName}-jobs"}, "R": {"x": 1}}),
            0,
        ),
        (
            serde_json::json!({"A": {"Ref": "Q"}, "N": {"Fn::Sub": "${AWS::StackName}-jobs"}, "R": {"x": 1}}),
            1,
        ),
        (
            serde_json::json!({"A": 5, "N": {"Fn::Sub": "${AWS::StackName}-j"}, "R": {"x": 1}}),
            1,
        ),
        (
            serde_json::json!({"A": 5, "N": {"Fn::Sub": "${AWS::StackName}-jobs"}, "R": {"x": 1}, "D": 5}),
            1,
        ),
        (
            serde_json::json!({"A": {"Fn::GetAtt": ["Q", "Arn"]}, "N": {"Fn::Sub": "${AWS::StackName}-jobs"}, "R": {"x": 2}}),
            2,
        ),
        (
            serde_json::json!({"N": {"Fn::Sub": "${AWS::StackName}-jobs"}, "R": {}}),
            2,
        ),
    ];
    for (template, expected) in cases {
        let mut out = Vec::new();
        differences("X", &mirrored, &template, &["P"], &mut out);
        assert_eq!(out.len(), expected, "{template}: {out:?}");
    }
}
