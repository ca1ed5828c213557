//! Why an update was refused or failed, in English and Japanese. Every refusal leaves the running
//! binary as it was (apply swaps only after every check passed).

/// An update refusal or failure. `Display` gives both languages.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("no [update] manifest_url is configured / [update] manifest_url が設定されていません")]
    NoManifestUrl,
    #[error("{what} {url:?} is not allowed: only https (plain http only to a loopback address) / {what} {url:?} は使えません: https のみ (http はループバックのみ)")]
    InsecureUrl { what: &'static str, url: String },
    #[error("no trusted key is configured ([update] trusted_keys is empty): an update is never installed unverified / 信頼する鍵がありません ([update] trusted_keys が空): 検証できない更新は適用しません")]
    NoTrustedKey,
    #[error("[update] trusted_keys entry {index} is not a 64-digit hex ed25519 public key / [update] trusted_keys の {index} 番目は64桁の16進 ed25519 公開鍵ではありません")]
    BadKey { index: usize },
    #[error("cannot fetch {url}: {reason} / {url} を取得できません: {reason}")]
    Fetch { url: String, reason: String },
    #[error("the update manifest is not valid: {reason} / 更新マニフェストが不正です: {reason}")]
    Manifest { reason: String },
    #[error("the manifest offers no release for channel {channel:?} and target {target} / チャネル {channel:?}・ターゲット {target} のリリースがマニフェストにありません")]
    NoRelease { channel: String, target: String },
    #[error("the manifest offers {offered}, older than the running {running}: refused (use --allow-downgrade to install it) / マニフェストの {offered} は稼働中の {running} より古いため適用しません (--allow-downgrade で許可)")]
    Downgrade { offered: String, running: String },
    #[error("version {version} failed its health check before and is not retried automatically (use --retry-failed) / バージョン {version} は以前ヘルスチェックに失敗したため自動では再試行しません (--retry-failed で再試行)")]
    FailedBefore { version: String },
    #[error("the archive is {actual} bytes, the manifest says {expected}: refused / アーカイブのサイズ {actual} バイトがマニフェストの {expected} と一致しないため適用しません")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("the archive's sha256 does not match the manifest (tampered or corrupted): refused / アーカイブの sha256 がマニフェストと一致しません (改ざんまたは破損): 適用しません")]
    DigestMismatch,
    #[error("the archive's signature does not verify against any trusted key (unsigned, tampered or signed by another key: {reason}): refused / アーカイブの署名を信頼する鍵で検証できません (未署名・改ざん・別の鍵による署名): 適用しません")]
    BadSignature { reason: String },
    #[error("the archive holds no {name} binary / アーカイブに {name} が含まれていません")]
    NoBinary { name: String },
    #[error("this install is package-managed ({marker}): the update comes as a package (apt / msi), not through tsunagi update apply / パッケージ管理下のインストールです ({marker}): 更新はパッケージで行います")]
    PackageManaged { marker: String },
    #[error("{count} delivery(ies) to the platform are in flight; try again when they are done (the queue is left as it is) / 基盤への送信が {count} 件進行中のため更新しません。完了後に再実行してください")]
    DeliveryInFlight { count: i64 },
    #[error("the running agent's operations surface is off ([ops] listen): its health cannot be checked after a restart, so nothing is installed / 運用画面 ([ops] listen) が無効のため再起動後の正常性を確認できず、更新しません")]
    NoHealthCheck,
    #[error("the running agent runs {daemon}, not this binary: run update apply with that binary / 稼働中のエージェントは {daemon} です。そのバイナリで update apply を実行してください")]
    OtherBinary { daemon: String },
    #[error("the running agent is not ready (/readyz at {url}): fix that first, or the new version could not prove itself / 稼働中のエージェントが正常ではありません ({url} の /readyz)。先に解消してください")]
    NotReadyBefore { url: String },
    #[error("{what}: {source} / {what} に失敗しました")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the store cannot be read: {0} / データベースを読めません")]
    Store(String),
    #[error("version {version} did not become ready ({reason}); the previous binary was restored / バージョン {version} が正常起動しなかったため ({reason})、以前のバイナリに戻しました")]
    RolledBack { version: String, reason: String },
}

impl UpdateError {
    /// The English and the Japanese halves of the message.
    pub fn en_ja(&self) -> (String, String) {
        let text = self.to_string();
        match text.rsplit_once(" / ") {
            Some((en, ja)) => (en.to_string(), ja.to_string()),
            None => (text.clone(), text),
        }
    }

    /// An I/O failure naming what was being done (paths are the agent's own, never patient data).
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        UpdateError::Io {
            what: what.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, UpdateError>;
