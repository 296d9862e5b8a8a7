//! Where tvlogin keeps its files: a leaf that the stores, the session and the commands all
//! read, so none of them needs the configuration module to find a directory.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// Where tvlogin keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Holds `config.toml`.
    pub config_dir: PathBuf,
    /// Holds state (non-secret metadata) and the file token store.
    pub data_dir: PathBuf,
}

impl Paths {
    /// `TVLOGIN_CONFIG_DIR` / `TVLOGIN_DATA_DIR`, else the platform's directories.
    pub fn from_env() -> Result<Self, Error> {
        let dirs = directories::ProjectDirs::from("dev", "tvlogin", "tvlogin");
        let pick = |var: &str, fallback: Option<&Path>| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| fallback.map(Path::to_path_buf))
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "cannot find a home directory for tvlogin's files; set {var}"
                    ))
                })
        };
        Ok(Self {
            config_dir: pick("TVLOGIN_CONFIG_DIR", dirs.as_ref().map(|d| d.config_dir()))?,
            data_dir: pick("TVLOGIN_DATA_DIR", dirs.as_ref().map(|d| d.data_dir()))?,
        })
    }

    /// The config file's path.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }
}
