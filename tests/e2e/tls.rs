use crate::util::*;

#[test]
fn f_a_server_certificate_from_the_wrong_ca_gets_nothing_and_the_error_says_why() {
    let mut w = World::new();
    w.start_sim("", true);
    w.start_agent();
    w.drop_file("in-1.json", &condition_input(1));
    wait_until(60, "a TLS error is recorded", || {
        w.status()["last_error"]
            .to_string()
            .to_lowercase()
            .contains("certificate")
    });
    let s = w.status();
    let err = s["last_error"].to_string();
    assert!(
        err.contains("Tls") || err.to_lowercase().contains("tls"),
        "classified as TLS: {err}"
    );
    assert_eq!(w.sim().stats().received, 0, "no request reached the server");
    assert_eq!(w.accepted_files(), 0);
    w.stop_agent();
    assert!(
        w.agent_log().to_lowercase().contains("certificate"),
        "the log says why"
    );
}
