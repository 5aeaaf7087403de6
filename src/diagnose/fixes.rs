//! The commands that fix each fault, in the administrator's terms (Windows
//! `netsh interface ipv6 …`, PowerShell), filled with the real prefix,
//! interface and next hop. Where a value is unknown it appears as an
//! `<explained placeholder>`, never as a guess.

/// Publish a client prefix on the router, toward the DA node that owns it.
pub fn add_published_route(prefix: &str, lan_if: &str, nexthop: &str) -> String {
    format!("netsh interface ipv6 add route {prefix} \"{lan_if}\" nexthop={nexthop} publish=yes")
}

/// Replace a route's wrong next hop with the right one (netsh cannot change a
/// next hop in place).
pub fn replace_next_hop(prefix: &str, lan_if: &str, wrong: &str, right: &str) -> String {
    format!(
        "netsh interface ipv6 delete route {prefix} \"{lan_if}\" nexthop={wrong}\n{}",
        add_published_route(prefix, lan_if, right)
    )
}

/// Make the router's ISATAP interface forward and advertise.
pub fn enable_advertising(isatap_if: Option<&str>) -> String {
    match isatap_if {
        Some(name) => format!(
            "netsh interface ipv6 set interface \"{name}\" forwarding=enabled advertise=enabled"
        ),
        None => "Get-NetIPInterface -AddressFamily IPv6 | Where-Object InterfaceAlias -like 'isatap*' | \
                 Set-NetIPInterface -Forwarding Enabled -Advertising Enabled"
            .to_owned(),
    }
}

/// On a DA node: send replies for the ISATAP prefix to the ISATAP router,
/// preferred over the node's own ISATAP interface.
pub fn node_return_route(isatap_prefix: &str, node_if: &str, router_ipv6: &str) -> String {
    format!(
        "netsh interface ipv6 add route {isatap_prefix} \"{node_if}\" nexthop={router_ipv6} metric=1 store=persistent"
    )
}

/// On a DA client (or its GPO): allow inbound ICMPv6 echo requests.
pub fn allow_echo_on_client() -> String {
    "netsh advfirewall firewall add rule name=\"Manage-out: ICMPv6 Echo Request\" \
     dir=in action=allow protocol=icmpv6:128,any"
        .to_owned()
}

/// Let protocol 41 from `src` in, on the host that blocks it.
pub fn allow_protocol_41(src: &str) -> String {
    format!(
        "netsh advfirewall firewall add rule name=\"ISATAP (IP protocol 41)\" dir=in action=allow protocol=41 remoteip={src}"
    )
}

/// Turn ISATAP on for a router that answers protocol 41 with "protocol unreachable".
pub fn enable_isatap_router(router_name: &str) -> String {
    format!(
        "netsh interface isatap set state enabled\nnetsh interface ipv6 isatap set router {router_name}"
    )
}

/// Lower an ISATAP interface's MTU so packets fit the path.
pub fn set_isatap_mtu(isatap_if: Option<&str>, mtu: u32) -> String {
    match isatap_if {
        Some(name) => {
            format!("netsh interface ipv6 set subinterface \"{name}\" mtu={mtu} store=persistent")
        }
        None => format!(
            "Get-NetIPInterface -AddressFamily IPv6 | Where-Object InterfaceAlias -like 'isatap*' | \
             Set-NetIPInterface -NlMtuBytes {mtu}"
        ),
    }
}
