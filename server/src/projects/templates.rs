//! Plan templates: how common infrastructure changes are staged, for drafting
//! a plan from a goal when no model is configured. A draft is a starting
//! point the person edits before approving, never a plan of record.

use crate::review::offline;
use opsdesk_app::model::{PlanStage, PlanTask, PlanTemplate};

/// A task: title, description, acceptance criteria.
type TaskText = (&'static str, &'static str, &'static str);

/// A staged plan for one kind of change.
pub struct Template {
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// Words of a goal that point to this template (stemmed like the review's terms).
    keywords: &'static str,
    stages: &'static [(&'static str, &'static [TaskText])],
}

impl Template {
    pub fn describe(&self) -> PlanTemplate {
        PlanTemplate { key: self.key.to_owned(), name: self.name.to_owned(), description: self.description.to_owned() }
    }

    /// The template's plan, for the person to edit.
    pub fn stages(&self) -> Vec<PlanStage> {
        self.stages
            .iter()
            .map(|(name, tasks)| PlanStage {
                name: (*name).to_owned(),
                tasks: tasks
                    .iter()
                    .map(|(title, description, criteria)| PlanTask {
                        title: (*title).to_owned(),
                        description: (*description).to_owned(),
                        acceptance_criteria: (*criteria).to_owned(),
                        agent_id: None,
                        instance_id: None,
                    })
                    .collect(),
            })
            .collect()
    }
}

/// The template with this key.
pub fn by_key(key: &str) -> Option<&'static Template> {
    ALL.iter().find(|t| t.key == key)
}

/// The template whose keywords the goal names most; the general one when none.
pub fn best_for(goal: &str) -> &'static Template {
    let words = offline::terms(goal);
    ALL.iter()
        .map(|template| {
            let keywords = offline::terms(template.keywords);
            (words.iter().filter(|w| keywords.contains(w)).count(), template)
        })
        .filter(|(hits, _)| *hits > 0)
        // The first listed wins a tie: `max_by_key` keeps the last maximum.
        .rev()
        .max_by_key(|(hits, _)| *hits)
        .map_or(&ALL[ALL.len() - 1], |(_, template)| template)
}

/// Every template; the general one last.
pub static ALL: [Template; 7] = [
    Template {
        key: "kubernetes-upgrade",
        name: "Upgrade a Kubernetes cluster",
        description: "Prepare, upgrade the control plane, then the nodes pool by pool.",
        keywords: "kubernetes k8s cluster kubectl upgrade version control plane node pool eks gke aks kubelet",
        stages: &[
            (
                "Prepare",
                &[
                    (
                        "Inventory workloads and deprecated APIs",
                        "List every workload and the API versions its manifests use; find those removed in the target version.",
                        "A list of manifests to change, each with its replacement API version.",
                    ),
                    (
                        "Back up the cluster state",
                        "Snapshot etcd (or the managed equivalent) and export the manifests of every namespace.",
                        "A restorable backup, tested by restoring into a scratch cluster.",
                    ),
                    (
                        "Check add-on compatibility",
                        "Check the CNI, ingress controller, CSI drivers and operators against the target version.",
                        "Every add-on has a compatible version and an upgrade order.",
                    ),
                ],
            ),
            (
                "Upgrade the control plane",
                &[(
                    "Upgrade the control-plane nodes",
                    "Upgrade the API servers, controllers and schedulers one version at a time.",
                    "The control plane reports the target version; no API errors in the last 30 minutes.",
                )],
            ),
            (
                "Upgrade the nodes",
                &[
                    (
                        "Drain and upgrade the worker nodes",
                        "One node pool at a time: cordon, drain (respecting disruption budgets), upgrade, uncordon.",
                        "Every node runs the target kubelet; no pod stuck pending.",
                    ),
                    (
                        "Verify workloads and alerts",
                        "Check deployments, jobs and alerts after the upgrade; compare error rates with the week before.",
                        "No new alerts; error rates and latencies as before the upgrade.",
                    ),
                ],
            ),
        ],
    },
    Template {
        key: "database-migration",
        name: "Migrate a database",
        description: "Prepare and test the restore, replicate, cut over in a window, clean up.",
        keywords: "database db postgres postgresql mysql mariadb mongodb migrate migration replica replication cutover rds schema",
        stages: &[
            (
                "Prepare",
                &[
                    (
                        "Size the target and check compatibility",
                        "Compare versions, extensions, collations and sizing of the source and the target.",
                        "A written list of differences, each resolved or accepted.",
                    ),
                    (
                        "Back up the source and test a restore",
                        "Take a full backup and restore it to a scratch host; time the restore.",
                        "A restore that works, and how long it takes.",
                    ),
                ],
            ),
            (
                "Replicate",
                &[(
                    "Set up replication to the target",
                    "Start logical or physical replication from the source; watch the lag.",
                    "The target follows the source with lag under a few seconds for a day.",
                )],
            ),
            (
                "Cut over",
                &[
                    (
                        "Switch the applications to the target",
                        "In the announced window: stop writes, wait for zero lag, point the applications at the target.",
                        "The applications write to the target; error rates as before.",
                    ),
                    (
                        "Verify the data",
                        "Compare row counts and checksums of the main tables on both sides.",
                        "No differences, or each explained.",
                    ),
                ],
            ),
            (
                "Clean up",
                &[(
                    "Retire the source",
                    "Keep a final backup, then stop replication and decommission the source.",
                    "The source is gone from monitoring, DNS and the inventory; its backup is kept.",
                )],
            ),
        ],
    },
    Template {
        key: "service-rollout",
        name: "Roll out a new service",
        description: "Prepare configuration and monitoring, deploy a canary, roll out, hand over.",
        keywords: "deploy deployment rollout release launch service canary new helm application app",
        stages: &[
            (
                "Prepare",
                &[
                    (
                        "Configuration and secrets",
                        "Create the service's configuration and secrets in every environment.",
                        "The service starts in staging with production-like configuration.",
                    ),
                    (
                        "Dashboards and alerts",
                        "Add the service's dashboards and its alerts on errors, latency and saturation.",
                        "Alerts fire in staging when the service is stopped.",
                    ),
                ],
            ),
            (
                "Canary",
                &[(
                    "Deploy a canary",
                    "Send a small share of production traffic to the new service and watch it.",
                    "An hour of canary traffic with error rates and latency within the targets.",
                )],
            ),
            (
                "Roll out",
                &[(
                    "Roll out everywhere",
                    "Increase the traffic share step by step, region by region.",
                    "All traffic served by the service; no alert during the rollout.",
                )],
            ),
            (
                "Hand over",
                &[(
                    "Write the runbook",
                    "Document how to restart, scale, roll back and debug the service.",
                    "The on-call team has reviewed the runbook.",
                )],
            ),
        ],
    },
    Template {
        key: "certificate-rotation",
        name: "Rotate certificates",
        description: "Find every certificate, renew and deploy, verify.",
        keywords: "certificate certificates cert certs tls ssl expire expiry expiring renew rotate rotation ca",
        stages: &[
            (
                "Inventory",
                &[(
                    "Find every certificate and its expiry",
                    "List the certificates on load balancers, ingresses, hosts and clients, with their expiry dates.",
                    "A list of certificates with owner, location and expiry.",
                )],
            ),
            (
                "Renew and deploy",
                &[(
                    "Renew and deploy the certificates",
                    "Issue the new certificates and deploy them, reloading each service.",
                    "Every endpoint serves the new certificate.",
                )],
            ),
            (
                "Verify",
                &[(
                    "Verify the chain and the clients",
                    "Check the served chains from outside and that clients (mTLS, pinned) still connect.",
                    "No handshake errors in the logs for a day; expiry monitoring set up.",
                )],
            ),
        ],
    },
    Template {
        key: "host-patching",
        name: "Patch a fleet of Linux hosts",
        description: "Patch canary hosts, then the rest in batches, then verify.",
        keywords: "patch patching update updates upgrade kernel linux host hosts server servers fleet apt yum security cve reboot",
        stages: &[
            (
                "Canary hosts",
                &[(
                    "Patch and reboot the canary hosts",
                    "Apply the updates to a few representative hosts and reboot them.",
                    "The canaries run the new packages and serve traffic without errors for a day.",
                )],
            ),
            (
                "The fleet",
                &[(
                    "Patch the rest in batches",
                    "Patch and reboot the remaining hosts in batches that keep every service's capacity.",
                    "Every host runs the new packages.",
                )],
            ),
            (
                "Verify",
                &[(
                    "Verify the fleet",
                    "Check package versions, failed units and alerts across the fleet.",
                    "No host on old packages, no failed unit, no new alert.",
                )],
            ),
        ],
    },
    Template {
        key: "host-decommission",
        name: "Decommission a host",
        description: "Drain it, move what it runs, then remove it everywhere.",
        keywords: "decommission retire remove shutdown shut sunset old host server vm machine",
        stages: &[
            (
                "Drain",
                &[(
                    "Move traffic and workloads off the host",
                    "Remove the host from load balancers and schedulers; move its services and data.",
                    "The host serves no traffic and holds no data that is not elsewhere.",
                )],
            ),
            (
                "Remove",
                &[(
                    "Power off and clean up",
                    "Power the host off, then remove it from DNS, monitoring, backups and the inventory.",
                    "No alert, DNS record or inventory entry names the host.",
                )],
            ),
        ],
    },
    Template {
        key: "general-change",
        name: "General change",
        description: "Investigate, make the change, verify.",
        keywords: "",
        stages: &[
            (
                "Investigate",
                &[(
                    "Investigate the current state",
                    "Find out how things stand now and what the change touches.",
                    "A written description of the current state and of the risks.",
                )],
            ),
            (
                "Change",
                &[(
                    "Make the change",
                    "Carry out the change with a rollback ready.",
                    "The change is in place.",
                )],
            ),
            (
                "Verify",
                &[(
                    "Verify the result",
                    "Check that the goal is met and nothing else regressed.",
                    "The goal's success criteria hold; no new alert.",
                )],
            ),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_pick_the_template_that_fits() {
        let cases = [
            ("Upgrade the prod Kubernetes cluster from 1.29 to 1.30", "kubernetes-upgrade"),
            ("Move the orders database from MySQL 5.7 to PostgreSQL 16", "database-migration"),
            ("Renew the TLS certificates that expire next month", "certificate-rotation"),
            ("Apply the kernel security patches to every Linux host", "host-patching"),
            ("Roll out the new billing service with a canary", "service-rollout"),
            ("Retire the old build server", "host-decommission"),
            ("Tidy up the wiki", "general-change"),
        ];
        for (goal, key) in cases {
            assert_eq!(best_for(goal).key, key, "{goal}");
        }
    }

    #[test]
    fn every_template_is_a_valid_plan() {
        let mut keys = std::collections::HashSet::new();
        for template in &ALL {
            assert!(keys.insert(template.key), "duplicate key {}", template.key);
            let stages = template.stages();
            assert!(!stages.is_empty(), "{}", template.key);
            for stage in &stages {
                assert!(!stage.name.is_empty() && !stage.tasks.is_empty(), "{}", template.key);
                assert!(stage.tasks.iter().all(|t| !t.title.is_empty() && !t.acceptance_criteria.is_empty()));
            }
        }
        assert_eq!(ALL[ALL.len() - 1].key, "general-change");
    }
}
