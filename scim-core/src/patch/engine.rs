//! The operations: add, remove and replace on a working copy of the resource.

use std::collections::HashSet;

use scim_filter::{Filter, Path};
use serde_json::{Map, Value};

use super::PatchOptions;
use super::message::{PatchOpKind, PatchOperation};
use super::select::{check_filter, element_from_filter, select};
use crate::dialects::Dialects;
use crate::error::{Error, quote_input};
use crate::registry::{ResolveError, ResourceSchema};
use crate::schema::{AttrType, AttributeDef, Mutability, SCIM1_CORE_SCHEMA, Schema};
use crate::validate::{ValueContext, normalize_value_with};

/// What an operation's path addresses.
enum Target<'r, 'p> {
    /// A whole extension object (`urn:...:enterprise:2.0:User`).
    Extension(&'r Schema),
    /// An attribute, a sub-attribute, or elements selected by a filter.
    Attr(AttrTarget<'r, 'p>),
}

#[derive(Clone, Copy)]
struct AttrTarget<'r, 'p> {
    /// The extension holding the attribute; `None` for core and common attributes.
    ext: Option<&'r Schema>,
    attr: &'r AttributeDef,
    sub: Option<&'r AttributeDef>,
    filter: Option<&'p Filter<'p>>,
}

/// The settings every step needs.
struct Ctx<'r> {
    schema: ResourceSchema<'r>,
    dialects: Dialects,
    values: ValueContext,
    keep_unknown: bool,
}

/// How to take back one change to a top-level attribute of the resource.
enum Undo {
    /// Remove every key equal to `written` in any case and put back the entries it held
    /// (none: it was absent). Names are caseless, so later writes may use another case
    /// than the first: all of them are taken back.
    Restore {
        written: String,
        original: Vec<(String, Value)>,
    },
    /// Drop the elements appended to the array under `key`, and give back `primary: true`
    /// to the elements at `primaries`.
    Truncate {
        key: String,
        len: usize,
        primaries: Vec<usize>,
    },
    /// Put back elements removed from the array under `key`, at their indices (ascending).
    Reinsert {
        key: String,
        removed: Vec<(usize, Value)>,
    },
}

/// The resource being patched, in place, with an undo log so that a failing operation
/// leaves it as it was. Only the attributes the operations touch are copied: a large
/// group's members are appended to and removed from in place.
pub(super) struct Engine<'r, 'm> {
    ctx: Ctx<'r>,
    res: &'m mut Map<String, Value>,
    /// Extensions whose object an operation wrote or removed: their `schemas` entry is
    /// brought in line at the end.
    touched: Vec<&'r Schema>,
    undo: Vec<Undo>,
    /// Top-level attributes with a `Restore` entry (their whole value was saved).
    saved: Vec<String>,
    /// Whether an append or removal done in place changed something.
    changed_in_place: bool,
}

impl<'r, 'm> Engine<'r, 'm> {
    pub(super) fn new(
        schema: ResourceSchema<'r>,
        resource: &'m mut Map<String, Value>,
        options: &PatchOptions,
    ) -> Self {
        Engine {
            ctx: Ctx {
                schema,
                dialects: options.dialects,
                values: ValueContext::new(options.dialects)
                    .drop_read_only(true)
                    .keep_unknown(options.keep_unknown_attributes),
                keep_unknown: options.keep_unknown_attributes,
            },
            res: resource,
            touched: Vec::new(),
            undo: Vec::new(),
            saved: Vec::new(),
            changed_in_place: false,
        }
    }

    /// Saves the top-level attribute `name` (any case) before it is first changed.
    fn save(&mut self, name: &str) {
        if self.saved.iter().any(|k| k.eq_ignore_ascii_case(name)) {
            return;
        }
        // The exact key first (what `original` below reads), then other cases.
        let mut original: Vec<(String, Value)> = self
            .res
            .get_key_value(name)
            .map(|(k, v)| (k.clone(), v.clone()))
            .into_iter()
            .collect();
        original.extend(
            self.res
                .iter()
                .filter(|(k, _)| k.as_str() != name && k.eq_ignore_ascii_case(name))
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        self.undo.push(Undo::Restore {
            written: name.to_owned(),
            original,
        });
        self.saved.push(name.to_owned());
    }

    /// Takes back every change, newest first.
    pub(super) fn rollback(self) {
        let res = self.res;
        for undo in self.undo.into_iter().rev() {
            match undo {
                Undo::Restore { written, original } => {
                    res.retain(|k, _| !k.eq_ignore_ascii_case(&written));
                    res.extend(original);
                }
                Undo::Truncate {
                    key,
                    len,
                    primaries,
                } => {
                    if let Some(Value::Array(items)) = res.get_mut(&key) {
                        items.truncate(len);
                        for i in primaries {
                            if let Some(Value::Object(obj)) = items.get_mut(i) {
                                obj.insert("primary".to_owned(), Value::Bool(true));
                            }
                        }
                    }
                }
                Undo::Reinsert { key, removed } => {
                    let slot = res.entry(key).or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(items) = slot {
                        let rest = std::mem::take(items);
                        let mut rest = rest.into_iter();
                        for (i, v) in removed {
                            while items.len() < i {
                                match rest.next() {
                                    Some(x) => items.push(x),
                                    None => break,
                                }
                            }
                            items.push(v);
                        }
                        items.extend(rest);
                    }
                }
            }
        }
    }

    /// Applies one operation to the working copy. On error the working copy may be half
    /// changed: the caller drops it.
    pub(super) fn apply(&mut self, op: &PatchOperation) -> Result<(), Error> {
        if !op.op_is_lower_case() && !self.ctx.dialects.op_any_case {
            return Err(Error::invalid_syntax(format!(
                "op must be \"{}\" in lower case (RFC 7644 §3.5.2)",
                op.op
            )));
        }
        match (&op.path, op.op) {
            (None, PatchOpKind::Remove) => Err(Error::no_target(
                "a remove operation needs a \"path\" (RFC 7644 §3.5.2.2)",
            )),
            (None, kind) => {
                let value = require_value(op, "the resource")?;
                self.apply_no_path(kind, value, true)
            }
            (Some(text), kind) => {
                let path = self
                    .ctx
                    .dialects
                    .filter_parser()
                    .parse_path(text)
                    .map_err(|e| {
                        // The first line: what and where (the rest draws a caret).
                        let why = e.to_string();
                        let why = why.lines().next().unwrap_or_default().to_owned();
                        Error::invalid_path(format!(
                            "path {} is not valid: {why}",
                            quote_input(text)
                        ))
                    })?;
                let target = self.resolve(&path, text)?;
                self.apply_target(kind, target, op.value.as_ref(), text, false)
            }
        }
    }

    /// Resolves a parsed path against the schema.
    fn resolve<'p>(&self, path: &'p Path<'p>, text: &str) -> Result<Target<'r, 'p>, Error> {
        let schema = &self.ctx.schema;
        let r = schema.resolve(&path.attr).map_err(|e| match e {
            ResolveError::Ambiguous(_) => {
                Error::invalid_path(format!("path {}: {e}", quote_input(text)))
            }
            _ => Error::invalid_path(format!(
                "path {} names no attribute of the {} resource type",
                quote_input(text),
                schema.resource_type.name
            )),
        })?;
        if let Some(urn) = path.attr.urn()
            && !self.ctx.dialects.scim1_core_urn
            && urn.eq_ignore_ascii_case(SCIM1_CORE_SCHEMA)
        {
            return Err(Error::invalid_path(format!(
                "path {} uses the SCIM 1.0 core URN",
                quote_input(text)
            )));
        }
        let Some(attr) = r.attr else {
            if path.filter.is_some() {
                return Err(Error::invalid_path(format!(
                    "path {}: a schema URN takes no filter",
                    quote_input(text)
                )));
            }
            return Ok(Target::Extension(r.schema));
        };
        if r.is_extension
            && path.attr.urn().is_none()
            && !self.ctx.dialects.unqualified_extension_names
        {
            return Err(Error::invalid_path(format!(
                "path {} names an extension attribute: qualify it with {}",
                quote_input(text),
                quote_input(&r.schema.id)
            )));
        }
        let filter = match &path.filter {
            Some(f) => {
                if !attr.multi_valued {
                    return Err(Error::invalid_path(format!(
                        "path {}: a value filter needs a multi-valued attribute, and {} is single-valued",
                        quote_input(text),
                        quote_input(&attr.name)
                    )));
                }
                check_filter(attr, f, text)?;
                Some(f)
            }
            None => None,
        };
        Ok(Target::Attr(AttrTarget {
            ext: r.is_extension.then_some(r.schema),
            attr,
            sub: r.sub_attr,
            filter,
        }))
    }

    /// Applies an operation to a resolved target. `in_value` is true for the keys of a
    /// no-path value object, where readOnly attributes are skipped instead of rejected.
    fn apply_target(
        &mut self,
        kind: PatchOpKind,
        target: Target<'r, '_>,
        value: Option<&Value>,
        text: &str,
        in_value: bool,
    ) -> Result<(), Error> {
        let t = match target {
            Target::Extension(ext) => return self.apply_extension(kind, ext, value, text),
            Target::Attr(t) => t,
        };
        let read_only = t.attr.mutability == Mutability::ReadOnly
            || t.sub.is_some_and(|s| s.mutability == Mutability::ReadOnly);
        if read_only {
            if in_value {
                return Ok(());
            }
            return Err(Error::mutability(format!(
                "attribute {} is readOnly",
                quote_input(text)
            )));
        }
        match kind {
            PatchOpKind::Remove => self.remove(t, value, text),
            PatchOpKind::Add | PatchOpKind::Replace => {
                let Some(v) = value else {
                    return Err(Error::invalid_value(format!(
                        "{} operation on {} needs a \"value\"",
                        article(kind),
                        quote_input(text)
                    )));
                };
                self.write(kind, t, v.clone(), text)
            }
        }
    }

    /// Add or replace without a path: the value object's keys are attributes (or, with
    /// the dialect, paths; or extension URNs holding objects).
    fn apply_no_path(&mut self, kind: PatchOpKind, value: &Value, top: bool) -> Result<(), Error> {
        let Value::Object(obj) = value else {
            return Err(Error::invalid_value(format!(
                "{} operation without a \"path\" needs an object \"value\"",
                article(kind)
            )));
        };
        let schema = self.ctx.schema;
        for (key, v) in obj {
            if key.eq_ignore_ascii_case("schemas") {
                // The server maintains `schemas`.
                continue;
            }
            if let Some(ext) = schema.extension(key) {
                self.apply_extension(kind, ext, Some(v), key)?;
                continue;
            }
            if top
                && schema.is_core_urn(key)
                && (self.ctx.dialects.scim1_core_urn
                    || !key.eq_ignore_ascii_case(SCIM1_CORE_SCHEMA))
                && v.is_object()
            {
                // `{"urn:...:core:2.0:User": {"userName": ...}}`: the core attributes.
                self.apply_no_path(kind, v, false)?;
                continue;
            }
            if self.ctx.dialects.value_keys_as_paths && key.contains(['.', ':', '[']) {
                let parsed = self.ctx.dialects.filter_parser().parse_path(key);
                let target = match &parsed {
                    Ok(path) => {
                        if let Err(e @ ResolveError::Ambiguous(_)) = schema.resolve(&path.attr) {
                            return Err(Error::invalid_path(format!(
                                "key {}: {e}",
                                quote_input(key)
                            )));
                        }
                        // Unknown names (and unregistered URNs) are dropped like unknown
                        // attributes.
                        self.resolve(path, key).ok()
                    }
                    Err(_) => None,
                };
                match target {
                    Some(t) => self.apply_target(kind, t, Some(v), key, true)?,
                    None => self.keep_unknown(key, v),
                }
                continue;
            }
            match schema.resolve_parts(None, key, None) {
                Ok(r) => {
                    let Some(attr) = r.attr else { continue };
                    if r.is_extension && !self.ctx.dialects.unqualified_extension_names {
                        self.keep_unknown(key, v);
                        continue;
                    }
                    let t = AttrTarget {
                        ext: r.is_extension.then_some(r.schema),
                        attr,
                        sub: None,
                        filter: None,
                    };
                    self.apply_target(kind, Target::Attr(t), Some(v), &attr.name, true)?;
                }
                Err(e @ ResolveError::Ambiguous(_)) => {
                    return Err(Error::invalid_path(format!(
                        "key {}: {e}",
                        quote_input(key)
                    )));
                }
                Err(_) => self.keep_unknown(key, v),
            }
        }
        Ok(())
    }

    /// An unknown key of a no-path value: dropped, or kept as given when the setting says so.
    fn keep_unknown(&mut self, key: &str, v: &Value) {
        if self.ctx.keep_unknown {
            self.save(key);
            if v.is_null() {
                self.res.remove(key);
            } else {
                self.res.insert(key.to_owned(), v.clone());
            }
        }
    }

    /// A path (or a no-path key) naming a whole extension.
    fn apply_extension(
        &mut self,
        kind: PatchOpKind,
        ext: &'r Schema,
        value: Option<&Value>,
        text: &str,
    ) -> Result<(), Error> {
        let unassign = match (kind, value) {
            (PatchOpKind::Remove, _) => true,
            (_, None) => {
                return Err(Error::invalid_value(format!(
                    "{} operation on {} needs a \"value\"",
                    article(kind),
                    quote_input(text)
                )));
            }
            (_, Some(v)) => is_unassigned_request(v),
        };
        self.touch(ext);
        if unassign {
            self.save(&ext.id);
            if let Some(Value::Object(obj)) = take_ci(self.res, &ext.id) {
                for attr in &ext.attributes {
                    let text = format!("{}:{}", ext.id, attr.name);
                    if let Some(cur) = get_ci(&obj, &attr.name) {
                        // What removing the attribute alone would check.
                        remove_attr(
                            &self.ctx,
                            &AttrTarget {
                                ext: Some(ext),
                                attr,
                                sub: None,
                                filter: None,
                            },
                            cur.clone(),
                            None,
                            &text,
                        )?;
                    }
                }
            }
            return Ok(());
        }
        let Some(Value::Object(obj)) = value else {
            return Err(Error::invalid_value(format!(
                "the value for {} must be an object of its attributes",
                quote_input(text)
            )));
        };
        for (key, v) in obj {
            match ext.attribute(key) {
                Some(attr) => {
                    let t = AttrTarget {
                        ext: Some(ext),
                        attr,
                        sub: None,
                        filter: None,
                    };
                    let text = format!("{}:{}", ext.id, attr.name);
                    self.apply_target(kind, Target::Attr(t), Some(v), &text, true)?;
                }
                None if self.ctx.keep_unknown => {
                    self.in_container(Some(ext), true, |_, container| {
                        container.insert(key.clone(), v.clone());
                        Ok(())
                    })?;
                }
                None => {}
            }
        }
        Ok(())
    }

    fn touch(&mut self, ext: &'r Schema) {
        if !self.touched.iter().any(|e| std::ptr::eq(*e, ext)) {
            self.touched.push(ext);
        }
    }

    /// Runs `f` on the object holding the target's attribute: the resource itself, or the
    /// extension object (created when `create`; when missing and not `create`, `f` is not
    /// run).
    fn in_container<T>(
        &mut self,
        ext: Option<&'r Schema>,
        create: bool,
        f: impl FnOnce(&Ctx<'r>, &mut Map<String, Value>) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        let Some(ext) = ext else {
            return f(&self.ctx, self.res).map(Some);
        };
        self.touch(ext);
        self.save(&ext.id);
        let mut obj = match take_ci(self.res, &ext.id) {
            Some(Value::Object(obj)) => obj,
            _ if create => Map::new(),
            _ => return Ok(None),
        };
        let out = f(&self.ctx, &mut obj);
        // An empty object is removed when the operations are done.
        self.res.insert(ext.id.clone(), Value::Object(obj));
        out.map(Some)
    }

    /// Add or replace on an attribute target.
    fn write(
        &mut self,
        kind: PatchOpKind,
        t: AttrTarget<'r, '_>,
        v: Value,
        text: &str,
    ) -> Result<(), Error> {
        let attr = t.attr;
        if kind == PatchOpKind::Add
            && t.ext.is_none()
            && t.filter.is_none()
            && t.sub.is_none()
            && attr.multi_valued
            && attr.mutability != Mutability::Immutable
            && !self
                .saved
                .iter()
                .any(|k| k.eq_ignore_ascii_case(&attr.name))
            && matches!(self.res.get(&attr.name), Some(Value::Array(a)) if !a.is_empty())
        {
            // Append in place: undone by truncating.
            let new_items = match normalize(&self.ctx, attr, v, text)? {
                Value::Array(a) => a,
                Value::Null => {
                    // null or []: the attribute becomes unassigned.
                    self.save(&attr.name);
                    self.res.remove(&attr.name);
                    return Ok(());
                }
                other => vec![other],
            };
            if let Some(Value::Array(items)) = self.res.get_mut(&attr.name) {
                let len = items.len();
                let primaries = append_new(attr, items, new_items);
                if items.len() != len || !primaries.is_empty() {
                    self.changed_in_place = true;
                }
                self.undo.push(Undo::Truncate {
                    key: attr.name.clone(),
                    len,
                    primaries,
                });
            }
            return Ok(());
        }
        if t.ext.is_none() {
            self.save(&attr.name);
        }
        self.in_container(t.ext, true, |ctx, container| {
            let cur = take_ci(container, &t.attr.name);
            if let Some(new) = write_attr(ctx, kind, &t, cur, v, text)? {
                container.insert(t.attr.name.clone(), new);
            }
            Ok(())
        })
        .map(drop)
    }

    /// Remove on an attribute target.
    fn remove(
        &mut self,
        t: AttrTarget<'r, '_>,
        value: Option<&Value>,
        text: &str,
    ) -> Result<(), Error> {
        let attr = t.attr;
        let listed = t.filter.is_none()
            && attr.multi_valued
            && self.ctx.dialects.remove_listed_values
            && value.is_some_and(|v| !v.is_null());
        if t.ext.is_none()
            && t.sub.is_none()
            && (t.filter.is_some() || listed)
            && attr.mutability != Mutability::Immutable
            && !self
                .saved
                .iter()
                .any(|k| k.eq_ignore_ascii_case(&attr.name))
            && matches!(self.res.get(&attr.name), Some(Value::Array(_)))
        {
            // Remove elements in place: undone by putting them back.
            let listed = match value {
                Some(v) if listed => Some(listed_elements(&self.ctx, attr, v.clone(), text)?),
                _ => None,
            };
            let Some(Value::Array(items)) = self.res.get_mut(&attr.name) else {
                return Ok(());
            };
            let drop = match (&listed, t.filter) {
                (Some(listed), _) => listed_mask(attr, items, listed),
                (None, Some(filter)) => {
                    let matched = select(attr, filter, items, text)?;
                    let mut mask = vec![false; items.len()];
                    for i in matched {
                        mask[i] = true;
                    }
                    mask
                }
                (None, None) => return Ok(()),
            };
            if !drop.contains(&true) {
                return Ok(());
            }
            let mut removed = Vec::new();
            let old = std::mem::replace(items, Vec::with_capacity(drop.len()));
            for ((i, v), gone) in old.into_iter().enumerate().zip(drop) {
                if gone {
                    removed.push((i, v));
                } else {
                    items.push(v);
                }
            }
            let empty = items.is_empty();
            if !removed.is_empty() {
                self.changed_in_place = true;
                if empty {
                    self.res.remove(&attr.name);
                }
                self.undo.push(Undo::Reinsert {
                    key: attr.name.clone(),
                    removed,
                });
            }
            return Ok(());
        }
        if t.ext.is_none() {
            self.save(&attr.name);
        }
        self.in_container(t.ext, false, |ctx, container| {
            let Some(cur) = take_ci(container, &t.attr.name) else {
                return Ok(());
            };
            if let Some(new) = remove_attr(ctx, &t, cur, value, text)? {
                container.insert(t.attr.name.clone(), new);
            }
            Ok(())
        })
        .map(drop)
    }

    /// Brings `schemas` in line with the extensions touched, checks that no required
    /// attribute the operations touched was left unassigned, and reports whether anything
    /// changed.
    pub(super) fn finish(&mut self) -> Result<bool, Error> {
        let schema = self.ctx.schema;
        for ext in std::mem::take(&mut self.touched) {
            let present = match get_ci(self.res, &ext.id) {
                Some(Value::Object(obj)) => !obj.is_empty(),
                _ => false,
            };
            if !present {
                take_ci(self.res, &ext.id);
            }
            let listed = match self.res.get("schemas") {
                Some(Value::Array(list)) => list
                    .iter()
                    .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&ext.id))),
                _ => false,
            };
            if listed != present {
                self.save("schemas");
                set_listed(self.res, &schema.core.id, &ext.id, present);
            }
        }
        // Untouched attributes are as they were; a touched one was saved whole (Restore)
        // or changed in place (an array that had elements).
        let original = |name: &str| -> Option<Option<&Value>> {
            self.undo.iter().find_map(|u| match u {
                Undo::Restore { written, original } if written.eq_ignore_ascii_case(name) => {
                    Some(original.first().map(|(_, v)| v))
                }
                Undo::Truncate { key, .. } | Undo::Reinsert { key, .. }
                    if key.eq_ignore_ascii_case(name) =>
                {
                    Some(Some(&ASSIGNED))
                }
                _ => None,
            })
        };
        for def in schema.core.attributes.iter().filter(|d| d.required) {
            if let Some(before) = original(&def.name)
                && is_assigned(before)
                && !is_assigned(get_ci(self.res, &def.name))
            {
                return Err(required_error(&def.name));
            }
        }
        for (ext, required) in schema.extensions() {
            let Some(Some(Value::Object(before))) = original(&ext.id) else {
                continue;
            };
            let after = match get_ci(self.res, &ext.id) {
                Some(Value::Object(obj)) => Some(obj),
                _ => None,
            };
            if required && !before.is_empty() && after.is_none() {
                return Err(required_error(&ext.id));
            }
            for def in ext.attributes.iter().filter(|d| d.required) {
                if is_assigned(get_ci(before, &def.name))
                    && !is_assigned(after.and_then(|a| get_ci(a, &def.name)))
                {
                    return Err(required_error(&format!("{}:{}", ext.id, def.name)));
                }
            }
        }
        if self.changed_in_place {
            return Ok(true);
        }
        let changed = self.undo.iter().any(|u| match u {
            Undo::Restore { written, original } => {
                let mut now: Vec<(&String, &Value)> = self
                    .res
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(written))
                    .collect();
                let mut before: Vec<(&String, &Value)> =
                    original.iter().map(|(k, v)| (k, v)).collect();
                now.sort_unstable_by_key(|(k, _)| *k);
                before.sort_unstable_by_key(|(k, _)| *k);
                now != before
            }
            _ => false,
        });
        Ok(changed)
    }
}

fn require_value<'o>(op: &'o PatchOperation, what: &str) -> Result<&'o Value, Error> {
    op.value.as_ref().ok_or_else(|| {
        Error::invalid_value(format!(
            "{} operation on {what} needs a \"value\"",
            article(op.op)
        ))
    })
}

/// Stands for the value of an array changed in place: it had elements.
static ASSIGNED: Value = Value::Bool(true);

/// "an add", "a replace", "a remove".
fn article(kind: PatchOpKind) -> &'static str {
    match kind {
        PatchOpKind::Add => "an add",
        PatchOpKind::Remove => "a remove",
        PatchOpKind::Replace => "a replace",
    }
}

fn required_error(path: &str) -> Error {
    Error::mutability(format!(
        "attribute {} is required: it cannot be removed or left unassigned",
        quote_input(path)
    ))
}

fn immutable_error(path: &str) -> Error {
    Error::mutability(format!(
        "attribute {} is immutable and already set: it cannot be changed",
        quote_input(path)
    ))
}

/// `null` or `[]` in a request: the target becomes unassigned.
fn is_unassigned_request(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Whether a stored value is assigned (RFC 7643 §2.5: null, [] and {} are not).
fn is_assigned(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

/// Equality as the attribute compares: strings case-insensitively unless `caseExact`.
fn same_value(def: &AttributeDef, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if !def.case_exact => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

fn normalize(ctx: &Ctx<'_>, def: &AttributeDef, v: Value, text: &str) -> Result<Value, Error> {
    normalize_value_with(def, v, &ctx.values, text)
}

/// Normalises one element of a multi-valued attribute (or the value of a single-valued
/// one): `Null` when it is unassigned.
fn normalize_one(ctx: &Ctx<'_>, def: &AttributeDef, v: Value, text: &str) -> Result<Value, Error> {
    if !def.multi_valued {
        return normalize(ctx, def, v, text);
    }
    let v = match v {
        // A one-element array where one element is expected.
        Value::Array(mut a) if a.len() == 1 => a.pop().unwrap_or(Value::Null),
        Value::Array(a) if a.is_empty() => Value::Null,
        other => other,
    };
    if v.is_null() {
        return Ok(Value::Null);
    }
    match normalize(ctx, def, Value::Array(vec![v]), text)? {
        Value::Array(mut a) => Ok(a.pop().unwrap_or(Value::Null)),
        other => Ok(other),
    }
}

/// The sub-attributes a raw object value sets to `null` (to be cleared in a merge).
fn null_keys<'d>(attr: &'d AttributeDef, v: &Value) -> Vec<&'d AttributeDef> {
    match v {
        Value::Object(obj) => obj
            .iter()
            .filter(|(_, v)| v.is_null())
            .filter_map(|(k, _)| attr.sub_attribute(k))
            .filter(|s| s.mutability != Mutability::ReadOnly)
            .collect(),
        _ => Vec::new(),
    }
}

fn into_object(v: Option<Value>) -> Map<String, Value> {
    match v {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    }
}

fn into_items(v: Option<Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => Vec::new(),
        // A single value stored where an array belongs.
        Some(other) => vec![other],
    }
}

fn object_or_none(obj: Map<String, Value>) -> Option<Value> {
    (!obj.is_empty()).then_some(Value::Object(obj))
}

fn items_or_none(items: Vec<Value>) -> Option<Value> {
    (!items.is_empty()).then_some(Value::Array(items))
}

/// Sets (`Some`) or clears (`None`) one sub-attribute of an existing object, enforcing
/// immutability (an assigned immutable sub-attribute may only be set to the same value)
/// and required sub-attributes.
fn edit_sub(
    obj: &mut Map<String, Value>,
    attr: &AttributeDef,
    sub: &AttributeDef,
    new: Option<Value>,
    text: &str,
) -> Result<(), Error> {
    let named = || format!("{}.{}", attr.name, sub.name);
    let at = |mut e: Error| {
        if named() != text {
            e.detail = format!("{} (path {})", e.detail, quote_input(text));
        }
        e
    };
    let old = take_ci(obj, &sub.name);
    let assigned = is_assigned(old.as_ref());
    match new {
        Some(n) if !n.is_null() => {
            if sub.mutability == Mutability::Immutable
                && assigned
                && !old.as_ref().is_some_and(|o| same_value(sub, o, &n))
            {
                return Err(at(immutable_error(&named())));
            }
            obj.insert(sub.name.clone(), n);
        }
        _ => {
            if assigned && sub.mutability == Mutability::Immutable {
                return Err(at(immutable_error(&named())));
            }
            if assigned && sub.required {
                return Err(at(required_error(&named())));
            }
        }
    }
    Ok(())
}

/// Merges a normalised object into an existing one sub-attribute by sub-attribute, and
/// clears the sub-attributes the request set to null.
fn merge_into(
    obj: &mut Map<String, Value>,
    attr: &AttributeDef,
    normalized: Value,
    nulls: &[&AttributeDef],
    text: &str,
) -> Result<(), Error> {
    for sub in nulls {
        edit_sub(obj, attr, sub, None, text)?;
    }
    if let Value::Object(n) = normalized {
        for (k, v) in n {
            match attr.sub_attribute(&k) {
                Some(sub) => edit_sub(obj, attr, sub, Some(v), text)?,
                // Kept unknown sub-attributes.
                None => {
                    obj.insert(k, v);
                }
            }
        }
    }
    Ok(())
}

/// Checks an assigned immutable attribute is not changed or cleared.
fn check_immutable_whole(
    attr: &AttributeDef,
    old: Option<&Value>,
    new: Option<&Value>,
    text: &str,
) -> Result<(), Error> {
    if attr.mutability != Mutability::Immutable || !is_assigned(old) {
        return Ok(());
    }
    match (old, new) {
        (Some(o), Some(n)) if same_value(attr, o, n) => Ok(()),
        _ => Err(immutable_error(text)),
    }
}

/// Whether the elements of `attr` are identified by `value` alone (its `value` can never be
/// edited in place, like Group `members`): a re-sent element with the same `value` is the
/// same element.
pub(super) fn identified_by_value(attr: &AttributeDef) -> bool {
    attr.sub_attribute("value")
        .is_some_and(|v| v.mutability == Mutability::Immutable)
}

/// Whether `given` (from a request) denotes `existing`: same `value` for elements
/// identified by value, else equal on every sub-attribute `given` has.
fn same_element(attr: &AttributeDef, by_value: bool, existing: &Value, given: &Value) -> bool {
    if by_value && let (Some(a), Some(b)) = (existing.get("value"), given.get("value")) {
        return a == b;
    }
    match (existing, given) {
        (Value::Object(e), Value::Object(g)) => {
            let mut any = false;
            for (k, gv) in g {
                if gv.is_null() {
                    continue;
                }
                any = true;
                let def = attr.sub_attribute(k).unwrap_or(attr);
                if !get_ci(e, k).is_some_and(|ev| same_value(def, ev, gv)) {
                    return false;
                }
            }
            any
        }
        (e, g) => same_value(attr, e, g),
    }
}

/// `v.get("value")`, searched from the largest key down: in an element's sorted keys
/// (`$ref`, `display`, `primary`, `type`, `value`) `value` is usually the last, so this
/// finds it with one comparison where a search from the front compares every key.
fn value_of(v: &Value) -> Option<&Value> {
    let Value::Object(obj) = v else {
        return None;
    };
    for (k, v) in obj.iter().rev() {
        if k == "value" {
            return Some(v);
        }
        if k.as_str() < "value" {
            return None;
        }
    }
    None
}

fn is_primary(v: &Value) -> bool {
    v.get("primary").and_then(Value::as_bool) == Some(true)
}

/// `primary: true` on element `keep` clears it on the others (RFC 7643 §2.4). Returns the
/// indices where it was cleared.
fn clear_primary_except(items: &mut [Value], keep: usize) -> Vec<usize> {
    let mut cleared = Vec::new();
    for (i, item) in items.iter_mut().enumerate() {
        if i != keep
            && is_primary(item)
            && let Some(obj) = item.as_object_mut()
        {
            obj.insert("primary".to_owned(), Value::Bool(false));
            cleared.push(i);
        }
    }
    cleared
}

/// Add or replace: the attribute's new value (`None`: unassigned) from its current one.
fn write_attr(
    ctx: &Ctx<'_>,
    kind: PatchOpKind,
    t: &AttrTarget<'_, '_>,
    cur: Option<Value>,
    v: Value,
    text: &str,
) -> Result<Option<Value>, Error> {
    let attr = t.attr;
    let immutable_whole = attr.mutability == Mutability::Immutable;
    let old = if immutable_whole { cur.clone() } else { None };
    let new = match (t.filter, t.sub) {
        (None, None) if !attr.multi_valued => write_single(ctx, attr, cur, v, text)?,
        (None, None) => {
            if kind == PatchOpKind::Add {
                add_elements(ctx, attr, cur, v, text)?
            } else {
                let n = normalize(ctx, attr, v, text)?;
                (!n.is_null()).then_some(n)
            }
        }
        (None, Some(sub)) if !attr.multi_valued => {
            let n = normalize(ctx, sub, v, text)?;
            let mut obj = into_object(cur);
            edit_sub(&mut obj, attr, sub, Some(n), text)?;
            object_or_none(obj)
        }
        (None, Some(sub)) => {
            let n = normalize(ctx, sub, v, text)?;
            let set_primary = sub.name == "primary" && n == Value::Bool(true);
            let mut items = into_items(cur);
            if items.is_empty() {
                if !n.is_null() {
                    let mut obj = Map::new();
                    obj.insert(sub.name.clone(), n);
                    items.push(Value::Object(obj));
                }
            } else {
                for item in &mut items {
                    if let Value::Object(obj) = item {
                        edit_sub(obj, attr, sub, Some(n.clone()), text)?;
                    }
                }
                items.retain(|i| is_assigned(Some(i)));
            }
            if set_primary && let Some(last) = items.len().checked_sub(1) {
                clear_primary_except(&mut items, last);
            }
            items_or_none(items)
        }
        (Some(filter), sub) => write_filtered(ctx, kind, attr, filter, sub, cur, v, text)?,
    };
    if immutable_whole {
        check_immutable_whole(attr, old.as_ref(), new.as_ref(), text)?;
    }
    Ok(new)
}

/// Add or replace on a single-valued attribute: simple values are set, complex ones merged
/// sub-attribute by sub-attribute (RFC 7644 §3.5.2.1 and §3.5.2.3).
fn write_single(
    ctx: &Ctx<'_>,
    attr: &AttributeDef,
    cur: Option<Value>,
    v: Value,
    text: &str,
) -> Result<Option<Value>, Error> {
    if attr.attr_type != AttrType::Complex {
        let n = normalize(ctx, attr, v, text)?;
        return Ok((!n.is_null()).then_some(n));
    }
    let merge = v.is_object();
    let nulls = null_keys(attr, &v);
    let n = normalize(ctx, attr, v, text)?;
    if !merge {
        // null, [], an empty manager id: the attribute becomes unassigned. A value given in
        // another form (`manager` as a bare id or a one-element array) replaces it whole.
        let obj = into_object(cur);
        for sub in &attr.sub_attributes {
            let old = obj.get(&sub.name);
            if sub.mutability == Mutability::Immutable
                && is_assigned(old)
                && !old
                    .zip(n.get(&sub.name))
                    .is_some_and(|(o, v)| same_value(sub, o, v))
            {
                return Err(immutable_error(&format!("{text}.{}", sub.name)));
            }
        }
        return Ok((!n.is_null()).then_some(n));
    }
    let mut obj = into_object(cur);
    merge_into(&mut obj, attr, n, &nulls, text)?;
    Ok(object_or_none(obj))
}

/// Add to a multi-valued attribute: appends the new elements that are not already there.
fn add_elements(
    ctx: &Ctx<'_>,
    attr: &AttributeDef,
    cur: Option<Value>,
    v: Value,
    text: &str,
) -> Result<Option<Value>, Error> {
    let new_items = match normalize(ctx, attr, v, text)? {
        Value::Array(a) => a,
        // null or []: the attribute becomes unassigned.
        Value::Null => return Ok(None),
        other => vec![other],
    };
    let mut items = into_items(cur);
    append_new(attr, &mut items, new_items);
    Ok(items_or_none(items))
}

/// Appends the elements of `new_items` that `items` does not hold yet; a new element with
/// `primary: true` clears it on the others. Returns the indices where it was cleared.
pub(super) fn append_new(
    attr: &AttributeDef,
    items: &mut Vec<Value>,
    new_items: Vec<Value>,
) -> Vec<usize> {
    let by_value = identified_by_value(attr);
    // Many elements identified by value (a large group's members): index them.
    let mut index: Option<HashSet<String>> = (by_value && new_items.len() > 8).then(|| {
        items
            .iter()
            .filter_map(|i| i.get("value").and_then(Value::as_str).map(str::to_owned))
            .collect()
    });
    let mut primary_at = None;
    for item in new_items {
        let key = item.get("value").and_then(Value::as_str);
        let dup = match (&index, key) {
            (Some(ix), Some(k)) => ix.contains(k),
            _ => holds(attr, by_value, items, &item, key),
        };
        if dup {
            continue;
        }
        if let (Some(ix), Some(k)) = (&mut index, key) {
            ix.insert(k.to_owned());
        }
        if is_primary(&item) {
            primary_at = Some(items.len());
        }
        items.push(item);
    }
    match primary_at {
        Some(k) => clear_primary_except(items, k),
        None => Vec::new(),
    }
}

/// [`append_new`] of one element: the same result without the vector.
pub(super) fn append_one(attr: &AttributeDef, items: &mut Vec<Value>, item: Value) -> Vec<usize> {
    let by_value = identified_by_value(attr);
    let key = item.get("value").and_then(Value::as_str);
    if holds(attr, by_value, items, &item, key) {
        return Vec::new();
    }
    let primary = is_primary(&item);
    items.push(item);
    match items.len().checked_sub(1) {
        Some(k) if primary => clear_primary_except(items, k),
        _ => Vec::new(),
    }
}

/// Whether `items` holds an element that `item` (whose `value` string is `key`) denotes.
fn holds(
    attr: &AttributeDef,
    by_value: bool,
    items: &[Value],
    item: &Value,
    key: Option<&str>,
) -> bool {
    match key {
        // Identified by value: one lookup per element, the given value looked up once.
        Some(k) if by_value => items.iter().any(|e| match value_of(e) {
            Some(Value::String(v)) => v == k,
            Some(_) => false,
            None => same_element(attr, by_value, e, item),
        }),
        _ => items.iter().any(|e| same_element(attr, by_value, e, item)),
    }
}

/// Add or replace through a value path (`emails[type eq "work"]`, with or without a
/// sub-attribute).
#[allow(clippy::too_many_arguments)]
fn write_filtered(
    ctx: &Ctx<'_>,
    kind: PatchOpKind,
    attr: &AttributeDef,
    filter: &Filter<'_>,
    sub: Option<&AttributeDef>,
    cur: Option<Value>,
    v: Value,
    text: &str,
) -> Result<Option<Value>, Error> {
    let mut items = into_items(cur);
    let matched = select(attr, filter, &items, text)?;
    if matched.is_empty() {
        return create_unmatched(ctx, attr, filter, sub, items, v, text);
    }
    let mut primary_at = None;
    match sub {
        Some(sub) => {
            let n = normalize(ctx, sub, v, text)?;
            for &i in &matched {
                if let Some(Value::Object(obj)) = items.get_mut(i) {
                    edit_sub(obj, attr, sub, Some(n.clone()), text)?;
                }
            }
            if sub.name == "primary" && n == Value::Bool(true) {
                primary_at = matched.last().copied();
            }
        }
        None if kind == PatchOpKind::Replace => {
            let n = normalize_one(ctx, attr, v, text)?;
            if n.is_null() {
                // Replace with null: the matching elements become unassigned.
                let mut i = 0;
                items.retain(|_| {
                    let keep = !matched.contains(&i);
                    i += 1;
                    keep
                });
            } else {
                for &i in &matched {
                    if let Some(slot) = items.get_mut(i) {
                        *slot = n.clone();
                    }
                }
                if is_primary(&n) {
                    primary_at = matched.last().copied();
                }
            }
        }
        None => {
            let nulls = null_keys(attr, &v);
            let n = normalize_one(ctx, attr, v, text)?;
            let primary = is_primary(&n);
            for &i in &matched {
                if let Some(Value::Object(obj)) = items.get_mut(i) {
                    merge_into(obj, attr, n.clone(), &nulls, text)?;
                }
            }
            if primary {
                primary_at = matched.last().copied();
            }
        }
    }
    if let Some(k) = primary_at {
        clear_primary_except(&mut items, k);
    }
    items.retain(|i| is_assigned(Some(i)));
    Ok(items_or_none(items))
}

/// A value path that matched nothing: with the dialect, an `eq` filter creates the element
/// it describes; otherwise (or for any other filter) 400 `noTarget`. Nothing to write
/// (null, or an empty string through a sub-attribute) is no change.
fn create_unmatched(
    ctx: &Ctx<'_>,
    attr: &AttributeDef,
    filter: &Filter<'_>,
    sub: Option<&AttributeDef>,
    mut items: Vec<Value>,
    v: Value,
    text: &str,
) -> Result<Option<Value>, Error> {
    let no_target = || {
        Error::no_target(format!(
            "path {} matches no value of {}",
            quote_input(text),
            quote_input(&attr.name)
        ))
    };
    if !ctx.dialects.create_on_unmatched_value_path {
        return Err(no_target());
    }
    let Some(mut element) = element_from_filter(attr, filter) else {
        return Err(no_target());
    };
    match sub {
        Some(sub) => {
            let n = normalize(ctx, sub, v, text)?;
            if n.is_null() || n.as_str() == Some("") {
                return Ok(items_or_none(items));
            }
            element.insert(sub.name.clone(), n);
        }
        None => {
            let nulls = null_keys(attr, &v);
            let n = normalize_one(ctx, attr, v, text)?;
            if n.is_null() && nulls.is_empty() {
                return Ok(items_or_none(items));
            }
            merge_into(&mut element, attr, n, &nulls, text)?;
        }
    }
    let element = normalize_one(ctx, attr, Value::Object(element), text)?;
    if !element.is_null() {
        let primary = is_primary(&element);
        items.push(element);
        if primary {
            let last = items.len() - 1;
            clear_primary_except(&mut items, last);
        }
    }
    Ok(items_or_none(items))
}

/// Remove: the attribute's new value (`None`: unassigned) from its current one.
fn remove_attr(
    ctx: &Ctx<'_>,
    t: &AttrTarget<'_, '_>,
    cur: Value,
    value: Option<&Value>,
    text: &str,
) -> Result<Option<Value>, Error> {
    if t.attr.mutability != Mutability::Immutable {
        return remove_from(ctx, t, cur, value, text);
    }
    let old = cur.clone();
    let new = remove_from(ctx, t, cur, value, text)?;
    check_immutable_whole(t.attr, Some(&old), new.as_ref(), text)?;
    Ok(new)
}

fn remove_from(
    ctx: &Ctx<'_>,
    t: &AttrTarget<'_, '_>,
    cur: Value,
    value: Option<&Value>,
    text: &str,
) -> Result<Option<Value>, Error> {
    let attr = t.attr;
    match (t.filter, t.sub) {
        (None, None) => {
            if attr.multi_valued
                && let Some(listed) = value.filter(|v| !v.is_null())
            {
                if !ctx.dialects.remove_listed_values {
                    return Err(Error::invalid_value(format!(
                        "a remove operation takes no \"value\" (RFC 7644 §3.5.2.2); to remove some values of {} use a value filter such as {}[value eq \"...\"]",
                        quote_input(text),
                        attr.name
                    )));
                }
                return remove_listed(ctx, attr, cur, listed.clone(), text);
            }
            if attr.mutability == Mutability::Immutable && is_assigned(Some(&cur)) {
                return Err(immutable_error(text));
            }
            if !attr.multi_valued
                && let Value::Object(obj) = &cur
            {
                for sub in &attr.sub_attributes {
                    if sub.mutability == Mutability::Immutable && is_assigned(obj.get(&sub.name)) {
                        return Err(immutable_error(&format!("{text}.{}", sub.name)));
                    }
                }
            }
            Ok(None)
        }
        (None, Some(sub)) if !attr.multi_valued => {
            let mut obj = into_object(Some(cur));
            edit_sub(&mut obj, attr, sub, None, text)?;
            Ok(object_or_none(obj))
        }
        (None, Some(sub)) => {
            let mut items = into_items(Some(cur));
            for item in &mut items {
                if let Value::Object(obj) = item {
                    edit_sub(obj, attr, sub, None, text)?;
                }
            }
            items.retain(|i| is_assigned(Some(i)));
            Ok(items_or_none(items))
        }
        (Some(filter), sub) => {
            let mut items = into_items(Some(cur));
            let matched = select(attr, filter, &items, text)?;
            match sub {
                None => {
                    let mut i = 0;
                    items.retain(|_| {
                        let keep = !matched.contains(&i);
                        i += 1;
                        keep
                    });
                }
                Some(sub) => {
                    for &i in &matched {
                        if let Some(Value::Object(obj)) = items.get_mut(i) {
                            edit_sub(obj, attr, sub, None, text)?;
                        }
                    }
                    items.retain(|i| is_assigned(Some(i)));
                }
            }
            Ok(items_or_none(items))
        }
    }
}

/// The dialect remove-with-value: removes only the listed elements of a multi-valued
/// attribute (members by `value`; others equal on every sub-attribute given).
fn remove_listed(
    ctx: &Ctx<'_>,
    attr: &AttributeDef,
    cur: Value,
    listed: Value,
    text: &str,
) -> Result<Option<Value>, Error> {
    let listed = listed_elements(ctx, attr, listed, text)?;
    let items = into_items(Some(cur));
    let mask = listed_mask(attr, &items, &listed);
    let kept: Vec<Value> = items
        .into_iter()
        .zip(mask)
        .filter_map(|(v, gone)| (!gone).then_some(v))
        .collect();
    Ok(items_or_none(kept))
}

/// The elements a remove lists in its `value`, normalised.
fn listed_elements(
    ctx: &Ctx<'_>,
    attr: &AttributeDef,
    listed: Value,
    text: &str,
) -> Result<Vec<Value>, Error> {
    Ok(match normalize(ctx, attr, listed, text)? {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => vec![other],
    })
}

/// Which of `items` the listed elements denote.
fn listed_mask(attr: &AttributeDef, items: &[Value], listed: &[Value]) -> Vec<bool> {
    let by_value = identified_by_value(attr);
    if by_value && listed.len() > 8 {
        let keys: HashSet<&str> = listed
            .iter()
            .filter_map(|l| l.get("value").and_then(Value::as_str))
            .collect();
        let others: Vec<&Value> = listed
            .iter()
            .filter(|l| l.get("value").and_then(Value::as_str).is_none())
            .collect();
        items
            .iter()
            .map(|e| {
                e.get("value")
                    .and_then(Value::as_str)
                    .is_some_and(|k| keys.contains(k))
                    || others.iter().any(|l| same_element(attr, by_value, e, l))
            })
            .collect()
    } else {
        items
            .iter()
            .map(|e| listed.iter().any(|l| same_element(attr, by_value, e, l)))
            .collect()
    }
}

// Case-insensitive access to attribute names (stored resources use the canonical case; a
// resource from elsewhere may not).

fn get_ci<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// Removes the attribute under any case of its name.
fn take_ci(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    if let Some(v) = map.remove(name) {
        return Some(v);
    }
    let key = map.keys().find(|k| k.eq_ignore_ascii_case(name))?.clone();
    map.remove(&key)
}

/// Lists (or unlists) `urn` in `schemas`.
fn set_listed(res: &mut Map<String, Value>, core: &str, urn: &str, listed: bool) {
    let is_urn = |v: &Value| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn));
    match res.get_mut("schemas") {
        Some(Value::Array(list)) => {
            let has = list.iter().any(is_urn);
            if listed && !has {
                list.push(Value::String(urn.to_owned()));
            } else if !listed && has {
                list.retain(|v| !is_urn(v));
            }
        }
        _ if listed => {
            res.insert(
                "schemas".to_owned(),
                Value::Array(vec![
                    Value::String(core.to_owned()),
                    Value::String(urn.to_owned()),
                ]),
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn case_insensitive_access() {
        let mut m = json!({"UserName": "a", "active": true})
            .as_object()
            .cloned()
            .expect("object");
        assert_eq!(get_ci(&m, "username"), Some(&json!("a")));
        assert_eq!(take_ci(&mut m, "userName"), Some(json!("a")));
        assert_eq!(take_ci(&mut m, "userName"), None);
    }

    #[test]
    fn schemas_listing() {
        let mut m = Map::new();
        set_listed(&mut m, "core", "ext", false);
        assert!(m.is_empty());
        set_listed(&mut m, "core", "ext", true);
        assert_eq!(m["schemas"], json!(["core", "ext"]));
        set_listed(&mut m, "core", "EXT", true);
        assert_eq!(m["schemas"], json!(["core", "ext"]));
        set_listed(&mut m, "core", "Ext", false);
        assert_eq!(m["schemas"], json!(["core"]));
    }

    #[test]
    fn value_of_is_get_value() {
        for v in [
            json!({"value": 1}),
            json!({"display": "d", "value": "x"}),
            json!({"value": "x", "zz": 2, "type": "t"}),
            json!({"display": "d"}),
            json!({"zzz": 1}),
            json!({}),
            json!("value"),
            json!(["value"]),
            json!({"Value": 1, "valuex": 2, "valu": 3}),
        ] {
            assert_eq!(value_of(&v), v.get("value"), "{v}");
        }
    }

    #[test]
    fn element_identity() {
        let members = crate::core_schemas::group_schema()
            .attribute("members")
            .cloned()
            .expect("members");
        assert!(identified_by_value(&members));
        let e = json!({"value": "a", "display": "A"});
        assert!(same_element(
            &members,
            true,
            &e,
            &json!({"value": "a", "display": "other"})
        ));
        assert!(!same_element(&members, true, &e, &json!({"value": "A"})));
        let emails = crate::core_schemas::user_schema()
            .attribute("emails")
            .cloned()
            .expect("emails");
        assert!(!identified_by_value(&emails));
        let e = json!({"value": "a@x", "type": "work", "primary": true});
        assert!(same_element(
            &emails,
            false,
            &e,
            &json!({"value": "A@X", "type": "work"})
        ));
        assert!(!same_element(
            &emails,
            false,
            &e,
            &json!({"value": "a@x", "type": "home"})
        ));
        assert!(!same_element(&emails, false, &e, &json!({})));
        assert!(same_element(
            &emails,
            false,
            &e,
            &json!({"value": "a@x", "display": null})
        ));
    }

    #[test]
    fn primary_is_cleared_on_the_others() {
        let mut items = vec![
            json!({"value": "a", "primary": true}),
            json!({"value": "b"}),
            json!({"value": "c", "primary": true}),
        ];
        clear_primary_except(&mut items, 2);
        assert_eq!(items[0]["primary"], json!(false));
        assert!(items[1].get("primary").is_none());
        assert_eq!(items[2]["primary"], json!(true));
    }
}
