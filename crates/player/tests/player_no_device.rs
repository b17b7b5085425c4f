//! With no sound card (here: an ALSA configuration that defines no device at all, which is what a
//! machine without a card looks like to cpal), the player says so with an audio error instead of
//! panicking. A separate test binary, because ALSA reads its configuration once per process.

use callvault_core::Error;
use callvault_player::Player;

#[test]
fn no_output_device_is_a_clear_audio_error() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("empty.conf");
    std::fs::write(&conf, "# no devices\n").unwrap();
    // Before anything in this process has initialised ALSA.
    std::env::set_var("ALSA_CONFIG_PATH", &conf);

    let e = Player::new(None).unwrap_err();
    assert!(matches!(e, Error::Audio { .. }), "{e:?}");
    assert_eq!(e.code(), "audio");
    let msg = e.to_string();
    assert!(msg.contains("no sound output device"), "{msg}");

    let e = Player::new(Some("Speakers")).unwrap_err();
    assert!(matches!(e, Error::Audio { .. }), "{e:?}");
    assert!(e.to_string().contains("no such output device"), "{e}");

    // Listing works and offers nothing that plays.
    for name in Player::output_devices().unwrap() {
        assert!(Player::new(Some(&name)).is_err(), "{name} opened");
    }
}
