//! VCF meta-line vocabulary both the header writer and the tracks use: the
//! INFO keys this annotator writes, `##INFO` definitions, and VCFv3.3 meta
//! lines in VCFv4 syntax. A leaf: it imports nothing from the crate.

/// INFO keys this annotator writes: `VC`, `TITV`, and `GENE` when a BED
/// track is used (and the fields VCF tracks copy). Existing header lines
/// and INFO values with these keys are replaced, never duplicated.
pub(crate) const ADDED_INFO_KEYS: [&str; 3] = ["VC", "TITV", "GENE"];

/// The INFO keys consequence annotation writes (tracks may not copy
/// fields with these names either).
pub(crate) const CONSEQUENCE_INFO_KEYS: [&str; 2] = ["CSQ", "REF_MISMATCH"];

/// What an `##INFO` definition says (the parts a copied field's definition
/// is made of).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InfoDefinition {
    pub(crate) id: String,
    /// `Number`, empty when missing.
    pub(crate) number: String,
    /// `Type`, empty when missing.
    pub(crate) kind: String,
    /// `Description`, as written between its quotes (escapes kept).
    pub(crate) description: String,
}

/// Parses an `##INFO=<ID=...,Number=...,Type=...,Description="...">` line
/// (or a VCFv3.3 `##INFO=ID,Number,Type,"Description"` one); `None` when it
/// is not one.
pub(crate) fn info_definition(line: &str) -> Option<InfoDefinition> {
    let upgraded;
    let fields = match line.strip_prefix("##INFO=<") {
        Some(fields) => fields,
        None => {
            upgraded = upgrade_v3_meta(line)?;
            upgraded.strip_prefix("##INFO=<")?
        }
    };
    let mut rest = fields.trim_end().strip_suffix('>')?;
    let mut definition = InfoDefinition {
        id: String::new(),
        number: String::new(),
        kind: String::new(),
        description: String::new(),
    };
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let bytes = quoted.as_bytes();
                let mut i = 0;
                while *bytes.get(i)? != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                (&quoted[..i], &quoted[i + 1..])
            }
            None => after.split_at(after.find(',').unwrap_or(after.len())),
        };
        let slot = match key.trim() {
            "ID" => Some(&mut definition.id),
            "Number" => Some(&mut definition.number),
            "Type" => Some(&mut definition.kind),
            "Description" => Some(&mut definition.description),
            _ => None,
        };
        if let Some(slot) = slot {
            *slot = value.trim().to_string();
        }
        rest = match after.strip_prefix(',') {
            Some(next) => next,
            None if after.trim().is_empty() => "",
            None => return None,
        };
    }
    (!definition.id.is_empty()).then_some(definition)
}

/// Rewrites a VCFv3.3 INFO/FORMAT (`##INFO=ID,Number,Type,"Description"`) or
/// FILTER (`##FILTER=ID,"Description"`) line in VCFv4 syntax. `None` when the
/// line is something else or is not in that shape; a negative Number (3.3's
/// "varies") becomes `.`.
pub(crate) fn upgrade_v3_meta(line: &str) -> Option<String> {
    let (key, definition) = line.strip_prefix("##")?.split_once('=')?;
    if definition.starts_with('<') {
        return None;
    }
    match key {
        "INFO" | "FORMAT" => {
            let mut parts = definition.splitn(4, ',');
            let (id, number, kind, description) =
                (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            let number = number.trim();
            let number = match number.parse::<i64>() {
                Ok(n) if n < 0 => ".",
                Ok(_) => number,
                Err(_) if number == "." => number,
                Err(_) => return None,
            };
            let (id, kind) = (id.trim(), kind.trim());
            if !is_identifier(id) || !is_identifier(kind) {
                return None;
            }
            Some(format!(
                "##{key}=<ID={id},Number={number},Type={kind},Description={}>",
                quoted(description)
            ))
        }
        "FILTER" => {
            let (id, description) = definition.split_once(',')?;
            let id = id.trim();
            if !is_identifier(id) {
                return None;
            }
            Some(format!(
                "##FILTER=<ID={id},Description={}>",
                quoted(description)
            ))
        }
        _ => None,
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'+'))
}

/// `text` (trimmed) in double quotes, unless it is already quoted.
fn quoted(text: &str) -> String {
    let text = text.trim();
    if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
        text.to_string()
    } else {
        format!("\"{}\"", text.replace('"', "'"))
    }
}
