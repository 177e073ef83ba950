//! The HL7 composite data types the typed segments use, read zero-copy.
//!
//! All values are unescaped and trimmed; the explicit null `""` reads as empty.

use std::borrow::Cow;

use labguard_core::LoincCode;

use crate::message::{Component, Field, Repetition};
use crate::problem::ProblemKind;

/// Normalises a value: surrounding spaces go, and the HL7 null `""` becomes empty, since
/// for reading (rather than updating) "explicitly nothing" and "nothing" are the same.
pub(crate) fn clean(c: Cow<'_, str>) -> Cow<'_, str> {
    match c {
        Cow::Borrowed(s) => {
            let t = s.trim();
            Cow::Borrowed(if t == "\"\"" { "" } else { t })
        }
        Cow::Owned(s) => {
            let t = s.trim();
            if t == "\"\"" {
                Cow::Borrowed("")
            } else if t.len() == s.len() {
                Cow::Owned(s)
            } else {
                Cow::Owned(t.to_string())
            }
        }
    }
}

/// Component `n` of a repetition, cleaned.
pub(crate) fn comp<'a>(r: &Repetition<'a>, n: usize) -> Cow<'a, str> {
    clean(r.component(n).text())
}

/// The first `N` components of a repetition, cleaned, in one pass (reading components
/// one by one would rescan the repetition from its start each time).
pub(crate) fn comps<'a, const N: usize>(r: &Repetition<'a>) -> [Cow<'a, str>; N] {
    let mut out: [Cow<'a, str>; N] = std::array::from_fn(|_| Cow::Borrowed(""));
    for (slot, c) in out.iter_mut().zip(r.components()) {
        *slot = clean(c.text());
    }
    out
}

/// Sub-component `n` of a component, cleaned.
pub(crate) fn sub<'a>(c: &Component<'a>, n: usize) -> Cow<'a, str> {
    clean(c.sub(n))
}

/// The value of a simple field, cleaned.
pub(crate) fn text<'a>(f: &Field<'a>) -> Cow<'a, str> {
    clean(f.text())
}

/// A coded element: CE, CWE or CNE (identifier, text, coding system, then the same for
/// an alternate coding; CWE-9 is the original text).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Coded<'a> {
    pub code: Cow<'a, str>,
    pub text: Cow<'a, str>,
    pub system: Cow<'a, str>,
    pub alt_code: Cow<'a, str>,
    pub alt_text: Cow<'a, str>,
    pub alt_system: Cow<'a, str>,
    pub original_text: Cow<'a, str>,
}

impl<'a> Coded<'a> {
    pub(crate) fn read(r: &Repetition<'a>) -> Coded<'a> {
        let [code, text, system, alt_code, alt_text, alt_system, _, _, original_text] =
            comps::<9>(r);
        Coded {
            code,
            text,
            system,
            alt_code,
            alt_text,
            alt_system,
            original_text,
        }
    }

    /// True when neither code nor text is given.
    pub fn is_empty(&self) -> bool {
        self.code.is_empty() && self.text.is_empty() && self.original_text.is_empty()
    }

    /// The best human-readable label: the text, else the original text, else the code.
    pub fn label(&self) -> &str {
        [&self.text, &self.original_text, &self.alt_text, &self.code]
            .into_iter()
            .find(|s| !s.is_empty())
            .map_or("", |s| s.as_ref())
    }

    /// The LOINC code, taken from the primary coding when its system is `LN` and from the
    /// alternate coding otherwise. The check digit is verified.
    pub fn loinc(&self) -> Result<LoincCode, ProblemKind> {
        let code = if self.system.eq_ignore_ascii_case("LN") {
            &self.code
        } else if self.alt_system.eq_ignore_ascii_case("LN") {
            &self.alt_code
        } else if self.code.is_empty() && self.alt_code.is_empty() {
            return Err(ProblemKind::MissingValue);
        } else {
            return Err(ProblemKind::NotLoinc);
        };
        if code.is_empty() {
            return Err(ProblemKind::MissingValue);
        }
        LoincCode::parse(code).map_err(|_| ProblemKind::InvalidLoinc)
    }
}

/// HD: a system or organisation, by namespace and/or universal id (an OID, usually).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HierarchicDesignator<'a> {
    pub namespace: Cow<'a, str>,
    pub universal_id: Cow<'a, str>,
    pub universal_id_type: Cow<'a, str>,
}

impl<'a> HierarchicDesignator<'a> {
    pub(crate) fn read(r: &Repetition<'a>) -> Self {
        let [namespace, universal_id, universal_id_type] = comps::<3>(r);
        HierarchicDesignator {
            namespace,
            universal_id,
            universal_id_type,
        }
    }

    /// The namespace, or the universal id when there is no namespace.
    pub fn name(&self) -> &str {
        if self.namespace.is_empty() {
            &self.universal_id
        } else {
            &self.namespace
        }
    }
}

/// EI: an identifier an organisation assigned (placer/filler order numbers, specimen ids,
/// equipment instances).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntityId<'a> {
    pub id: Cow<'a, str>,
    pub namespace: Cow<'a, str>,
    /// EI-3, the namespace's universal id (an OID, usually).
    pub universal_id: Cow<'a, str>,
}

impl<'a> EntityId<'a> {
    pub(crate) fn read(r: &Repetition<'a>) -> Self {
        let [id, namespace, universal_id] = comps::<3>(r);
        EntityId {
            id,
            namespace,
            universal_id,
        }
    }

    /// Reads an EI nested in one component, as SPM-2 (EIP) nests them.
    pub(crate) fn read_sub(c: &Component<'a>) -> Self {
        EntityId {
            id: sub(c, 1),
            namespace: sub(c, 2),
            universal_id: sub(c, 3),
        }
    }

    /// The id, else the namespace, else the universal id; `None` when all are empty.
    pub fn best(&self) -> Option<&str> {
        [&self.id, &self.namespace, &self.universal_id]
            .into_iter()
            .find(|s| !s.is_empty())
            .map(|s| s.as_ref())
    }
}

/// CX: a person identifier with the authority that assigned it and its type (MR, PI…).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identifier<'a> {
    pub id: Cow<'a, str>,
    /// CX-4, the namespace of the assigning authority.
    pub assigning_authority: Cow<'a, str>,
    /// CX-5, HL7 table 0203: `MR` medical record number, `PI` patient internal id…
    pub identifier_type: Cow<'a, str>,
}

impl<'a> Identifier<'a> {
    pub(crate) fn read(r: &Repetition<'a>) -> Self {
        let [id, _, _, assigning_authority, identifier_type] = comps::<5>(r);
        Identifier {
            id,
            assigning_authority,
            identifier_type,
        }
    }
}

/// XPN: a person's name. The family name is the first sub-component of XPN-1.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonName<'a> {
    pub family: Cow<'a, str>,
    pub given: Cow<'a, str>,
    pub middle: Cow<'a, str>,
    pub suffix: Cow<'a, str>,
    pub prefix: Cow<'a, str>,
    /// XPN-7, HL7 table 0200: `L` legal, `D` display…
    pub name_type: Cow<'a, str>,
}

impl<'a> PersonName<'a> {
    pub(crate) fn read(r: &Repetition<'a>) -> Self {
        // XPN-1 is itself composite (surname&prefix…): its first part is the surname,
        // which is what `comps` reads.
        let [family, given, middle, suffix, prefix, _, name_type] = comps::<7>(r);
        PersonName {
            family,
            given,
            middle,
            suffix,
            prefix,
            name_type,
        }
    }
}

/// XCN: a person in a role (provider, observer, collector): an id and/or a name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Person<'a> {
    pub id: Cow<'a, str>,
    pub family: Cow<'a, str>,
    pub given: Cow<'a, str>,
}

impl<'a> Person<'a> {
    pub(crate) fn read(r: &Repetition<'a>) -> Self {
        let [id, family, given] = comps::<3>(r);
        Person { id, family, given }
    }

    /// Reads an XCN nested in one component (OBR-32's NDL type does this).
    pub(crate) fn read_sub(c: &Component<'a>) -> Self {
        Person {
            id: sub(c, 1),
            family: sub(c, 2),
            given: sub(c, 3),
        }
    }

    /// The id when there is one, else "Given Family"; `None` when both are empty.
    pub fn reference(&self) -> Option<String> {
        if !self.id.is_empty() {
            return Some(self.id.to_string());
        }
        let name = match (self.given.is_empty(), self.family.is_empty()) {
            (true, true) => return None,
            (false, false) => format!("{} {}", self.given, self.family),
            (true, false) => self.family.to_string(),
            (false, true) => self.given.to_string(),
        };
        Some(name)
    }
}

/// XAD: a postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address<'a> {
    pub street: Cow<'a, str>,
    pub other: Cow<'a, str>,
    pub city: Cow<'a, str>,
    pub state: Cow<'a, str>,
    pub postal_code: Cow<'a, str>,
    pub country: Cow<'a, str>,
    /// XAD-7, HL7 table 0190: `H` home, `M` mailing…
    pub address_type: Cow<'a, str>,
}

impl<'a> Address<'a> {
    pub(crate) fn read(r: &Repetition<'a>) -> Self {
        let [street, other, city, state, postal_code, country, address_type] = comps::<7>(r);
        Address {
            street,
            other,
            city,
            state,
            postal_code,
            country,
            address_type,
        }
    }
}

/// XTN: a phone number as one string. Before v2.5 it is XTN-1 (free text); later senders
/// split it into country (5), area (6), number (7) and extension (8).
pub(crate) fn phone<'a>(r: &Repetition<'a>) -> Cow<'a, str> {
    let [old, _, _, _, country, area, local, ext] = comps::<8>(r);
    if !old.is_empty() {
        return old;
    }
    let parts = [country, area, local];
    let mut s = parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| p.as_ref())
        .collect::<Vec<_>>()
        .join(" ");
    if !ext.is_empty() {
        s.push_str(" x");
        s.push_str(&ext);
    }
    Cow::Owned(s)
}
