//! Where a file sits in the standard storage, and what that makes it: used, not used, or off-layout.
//!
//! Layout: `<PID[0:3]>/<PID[3:6]>/<PID>/<YYYYMMDD or ->/<data type>/<file name>`, relative to the
//! storage root. A file is *on layout* when its path has exactly these six parts, its name parses
//! ([`FileName::parse`]) and the folders agree with the name (patient ID prefix folders, patient
//! folder, date folder, data type folder).
//!
//! Classification is a pure function of the relative path and the configured data types, so the
//! pipeline can recompute it from the stored origin (the inbox row keeps the relative path) and
//! get the same answer the source counted. Every class is stored raw; only [`FileClass::Used`]
//! files are meant for the HL7 v2 adapter.

use super::name::{FileName, NameError};

/// Why a path does not follow the storage layout. Carries no value from the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("標準化ストレージの階層ではありません ({depth} 階層) / not at the storage depth: {depth} path parts, expected 6")]
    Depth { depth: usize },
    #[error("{0}")]
    Name(NameError),
    #[error("患者IDの上位フォルダがファイル名と一致しません / the PID[0:3]/PID[3:6] folders do not match the file name")]
    PrefixFolders,
    #[error(
        "患者フォルダがファイル名と一致しません / the patient folder does not match the file name"
    )]
    PatientFolder,
    #[error(
        "診療日フォルダがファイル名と一致しません / the date folder does not match the file name"
    )]
    DateFolder,
    #[error("データ種別フォルダがファイル名と一致しません / the data type folder does not match the file name")]
    DataTypeFolder,
}

/// What a stored file is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileClass {
    /// On layout and of a configured data type: input for the HL7 v2 adapter.
    Used(FileName),
    /// On layout, but its data type is not configured (ADT-12, OMD, ...): stored, not sent.
    NotUsed(FileName),
    /// Off layout: stored, not sent, and reported.
    OffLayout(LayoutError),
}

/// Checks `rel` (`/`-separated, relative to the storage root) against the layout.
pub fn parse_rel(rel: &str) -> Result<FileName, LayoutError> {
    let parts: Vec<&str> = rel.split('/').collect();
    let [p3, p6, pid, date, dt, file] = parts[..] else {
        return Err(LayoutError::Depth { depth: parts.len() });
    };
    let name = FileName::parse(file).map_err(LayoutError::Name)?;
    let id = name.patient_id.as_str();
    if id.get(..3) != Some(p3) || id.get(3..6) != Some(p6) {
        return Err(LayoutError::PrefixFolders);
    }
    if pid != id {
        return Err(LayoutError::PatientFolder);
    }
    if date != name.date_dir() {
        return Err(LayoutError::DateFolder);
    }
    if dt != name.data_type {
        return Err(LayoutError::DataTypeFolder);
    }
    Ok(name)
}

/// Classifies `rel` for a source configured with `data_types`.
pub fn classify(rel: &str, data_types: &[String]) -> FileClass {
    match parse_rel(rel) {
        Ok(name) if data_types.contains(&name.data_type) => FileClass::Used(name),
        Ok(name) => FileClass::NotUsed(name),
        Err(e) => FileClass::OffLayout(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ssmix2::config::default_data_types;

    const GOOD: &str =
        "012/345/0123456789/20080126/OML-11/0123456789_20080126_OML-11_081251234567800_200802031630123_01_1";

    #[test]
    fn good_paths_classify_by_data_type() {
        let used = default_data_types();
        assert!(matches!(classify(GOOD, &used), FileClass::Used(_)));
        let adt12 = "609/941/6099410892/20250630/ADT-12/6099410892_20250630_ADT-12_000298014990611_20250630115943128_107_1";
        assert!(matches!(classify(adt12, &used), FileClass::NotUsed(_)));
        let ppr =
            "609/941/6099410892/-/PPR-01/6099410892_-_PPR-01_000029801499065_20250407115300000_-_1";
        assert!(matches!(classify(ppr, &used), FileClass::Used(_)));
    }

    #[test]
    fn off_layout_paths_say_why() {
        let p = |rel: &str| parse_rel(rel).unwrap_err();
        assert_eq!(p("README.txt"), LayoutError::Depth { depth: 1 });
        assert_eq!(p(&format!("x/{GOOD}")), LayoutError::Depth { depth: 7 });
        assert!(matches!(
            p("012/345/0123456789/20080126/OML-11/junk"),
            LayoutError::Name(_)
        ));
        assert_eq!(
            p(&GOOD.replacen("012/", "013/", 1)),
            LayoutError::PrefixFolders
        );
        assert_eq!(
            p(&GOOD.replacen("/345/", "/346/", 1)),
            LayoutError::PrefixFolders
        );
        assert_eq!(
            p(&GOOD.replacen("/0123456789/", "/0123456780/", 1)),
            LayoutError::PatientFolder
        );
        assert_eq!(
            p(&GOOD.replacen("/20080126/", "/-/", 1)),
            LayoutError::DateFolder
        );
        assert_eq!(
            p(&GOOD.replacen("/OML-11/", "/OMP-01/", 1)),
            LayoutError::DataTypeFolder
        );
        let short = "12_-_ADT-00_999999999999999_20260312113042213_-_1";
        assert_eq!(
            p(&format!("12/x/12/-/ADT-00/{short}")),
            LayoutError::PrefixFolders
        );
    }
}
