//! Short stable names for ICMP types and codes, as printed in frame lines and
//! reports (`echo-request`, `dest-unreach no-route`, …).

/// Name of an ICMPv6 type, if it has one.
pub fn icmpv6_type(ty: u8) -> Option<&'static str> {
    Some(match ty {
        1 => "dest-unreach",
        2 => "packet-too-big",
        3 => "time-exceeded",
        4 => "param-problem",
        128 => "echo-request",
        129 => "echo-reply",
        130 => "mld-query",
        131 => "mld-report",
        132 => "mld-done",
        133 => "router-solicit",
        134 => "router-advert",
        135 => "neighbor-solicit",
        136 => "neighbor-advert",
        137 => "redirect",
        143 => "mldv2-report",
        _ => return None,
    })
}

/// Name of an ICMPv6 error code, if it has one.
pub fn icmpv6_code(ty: u8, code: u8) -> Option<&'static str> {
    Some(match (ty, code) {
        (1, 0) => "no-route",
        (1, 1) => "admin-prohibited",
        (1, 2) => "beyond-scope",
        (1, 3) => "address-unreachable",
        (1, 4) => "port-unreachable",
        (1, 5) => "source-policy",
        (1, 6) => "reject-route",
        (3, 0) => "hop-limit",
        (3, 1) => "reassembly",
        (4, 0) => "header-field",
        (4, 1) => "unknown-next-header",
        (4, 2) => "unknown-option",
        _ => return None,
    })
}

/// Name of an ICMPv4 type, if it has one.
pub fn icmpv4_type(ty: u8) -> Option<&'static str> {
    Some(match ty {
        0 => "echo-reply",
        3 => "dest-unreach",
        4 => "source-quench",
        5 => "redirect",
        8 => "echo-request",
        11 => "time-exceeded",
        12 => "param-problem",
        _ => return None,
    })
}

/// Name of an ICMPv4 error code, if it has one.
pub fn icmpv4_code(ty: u8, code: u8) -> Option<&'static str> {
    Some(match (ty, code) {
        (3, 0) => "net-unreachable",
        (3, 1) => "host-unreachable",
        (3, 2) => "protocol-unreachable",
        (3, 3) => "port-unreachable",
        (3, 4) => "fragmentation-needed",
        (3, 5) => "source-route-failed",
        (3, 9) => "net-prohibited",
        (3, 10) => "host-prohibited",
        (3, 13) => "admin-prohibited",
        (11, 0) => "ttl",
        (11, 1) => "reassembly",
        _ => return None,
    })
}
