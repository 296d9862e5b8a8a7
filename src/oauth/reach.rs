//! Who can open the page where a user code is entered, and the one wording for it. A
//! verification page on a loopback address (the demo's, `tvlogin serve`'s, any server on this
//! machine) can be opened only here: a phone would look for it on itself. Any other page can
//! be opened on any device with a browser, a phone too. Every place that tells the user where
//! to go (the login screen, its help, the `o` key without a browser, plain mode, the README)
//! words it from [`Reach`], so none of them contradicts another.

use url::Url;

/// Where the verification page can be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A loopback address: only in a browser on this machine.
    ThisMachine,
    /// Anywhere: any device with a browser, a phone included.
    AnyDevice,
}

impl Reach {
    /// The reach of the page at `verification_uri`.
    pub fn of(verification_uri: &Url) -> Reach {
        if super::http::is_loopback(verification_uri) {
            Reach::ThisMachine
        } else {
            Reach::AnyDevice
        }
    }

    /// The first step, short enough for the login screen's text column: "… open" followed
    /// by the address.
    pub fn open_step(self) -> &'static str {
        match self {
            Reach::ThisMachine => "On this machine (not a phone), open",
            Reach::AnyDevice => "On a phone or any browser, open",
        }
    }

    /// The same as a sentence: where to open the address (help, notices).
    pub fn sentence(self) -> &'static str {
        match self {
            Reach::ThisMachine => {
                "Open it in a browser on this machine: it is this computer's own address, \
                 so a phone cannot reach it."
            }
            Reach::AnyDevice => "Open it on any device with a browser, a phone too.",
        }
    }

    /// What a QR code of the address is for, as the line above it in plain mode.
    pub fn qr_caption(self) -> &'static str {
        match self {
            Reach::ThisMachine => {
                "The same link as a QR code (for this machine only: a phone cannot reach it):"
            }
            Reach::AnyDevice => "Or scan this with a phone:",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One rule for every wording: loopback addresses never send anyone to a phone, other
    /// addresses always allow one.
    #[test]
    fn the_wording_follows_the_address() {
        for (url, reach) in [
            ("http://127.0.0.1:8080/device", Reach::ThisMachine),
            ("http://localhost:8080/device", Reach::ThisMachine),
            ("http://[::1]:8080/device", Reach::ThisMachine),
            ("https://login.example.com/device", Reach::AnyDevice),
            ("https://github.com/login/device", Reach::AnyDevice),
        ] {
            let url = Url::parse(url).expect("a URL");
            assert_eq!(Reach::of(&url), reach, "{url}");
        }
        let here = Reach::ThisMachine;
        for text in [here.open_step(), here.sentence(), here.qr_caption()] {
            assert!(text.contains("this machine"), "{text}");
            assert!(
                text.contains("not a phone") || text.contains("phone cannot"),
                "{text}"
            );
        }
        let anywhere = Reach::AnyDevice;
        for text in [
            anywhere.open_step(),
            anywhere.sentence(),
            anywhere.qr_caption(),
        ] {
            assert!(text.contains("phone"), "{text}");
            assert!(!text.contains("cannot"), "{text}");
        }
    }
}
