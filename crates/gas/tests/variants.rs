//! The variant table's API on the whole system (embedded backend): a job
//! of the shared `test.vcf` (MT, annotated with the built-in MT models) is
//! queried with filters and compared with its annotated VCF, read here the
//! plain way; another user's table is 404, bad values are 400; the table
//! follows the results' rules through archive and restore.

mod support;

use std::time::Duration;

use gas::dev::{self, Running, Services};
use gas_jobs::Role;
use reqwest::StatusCode;
use serde_json::Value;
use support::{test_vcf, Api};

struct System {
    running: Running,
    api: Api,
    _data: tempfile::TempDir,
}

async fn start(window_secs: u64) -> System {
    let data = tempfile::tempdir().unwrap();
    let config = support::quick_config(data.path(), window_secs);
    let running = dev::start(config, Services::ALL).await.unwrap();
    let api = Api::new(format!("http://{}", running.web_addr.unwrap()));
    System {
        running,
        api,
        _data: data,
    }
}

impl System {
    async fn user(&self, email: &str, role: Role) -> String {
        gas::users::add_user(&self.running.ports, email, role, None)
            .await
            .unwrap()
            .1
    }

    async fn variants(&self, token: &str, job_id: &str, query: &str) -> (StatusCode, Value) {
        let response = self
            .api
            .get(token, &format!("/api/v1/jobs/{job_id}/variants?{query}"))
            .await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Every page of a query, in order, checking `total` on each.
    async fn all_pages(&self, token: &str, job_id: &str, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        let mut total = None;
        loop {
            let q = format!("{query}&limit=37&cursor={cursor}");
            let (status, page) = self.variants(token, job_id, &q).await;
            assert_eq!(status, StatusCode::OK, "{q}: {page}");
            let t = page["total"].as_u64().unwrap();
            assert_eq!(*total.get_or_insert(t), t, "total changes between pages");
            out.extend(page["variants"].as_array().unwrap().iter().cloned());
            match page["next"].as_str() {
                Some(next) => cursor = next.to_string(),
                None => break,
            }
        }
        assert_eq!(Some(out.len() as u64), total.or(Some(0)), "{query}");
        out
    }

    /// The job's record.
    async fn job(&self, job_id: &str) -> gas_jobs::Job {
        self.running.ports.jobs.get(job_id).await.unwrap().unwrap()
    }

    /// The bytes of the job's index in hot storage, if it is there.
    async fn hot_index(&self, job_id: &str) -> Option<Vec<u8>> {
        let job = self.job(job_id).await;
        let key = gas_jobs::keys::variants_key(&job.s3_key_input_file);
        match self.running.ports.results.get(&key).await {
            Ok(body) => Some(gas_storage::collect(body).await.unwrap()),
            Err(gas_storage::BlobError::NotFound(_)) => None,
            Err(e) => panic!("reading {key}: {e}"),
        }
    }

    async fn index_is_hot(&self, job_id: &str) -> bool {
        let job = self.job(job_id).await;
        let key = gas_jobs::keys::variants_key(&job.s3_key_input_file);
        self.running
            .ports
            .results
            .head(&key)
            .await
            .unwrap()
            .is_some()
    }
}

/// One variant allele of the annotated VCF, read the plain way.
#[derive(Debug, Clone)]
struct Allele {
    chrom: String,
    pos: u64,
    reference: String,
    alt: String,
    /// Every CSQ entry of the allele: field name → value.
    entries: Vec<Vec<(String, String)>>,
}

impl Allele {
    fn field<'a>(entry: &'a [(String, String)], name: &str) -> &'a str {
        entry
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn picked(&self) -> Option<&Vec<(String, String)>> {
        self.entries
            .iter()
            .find(|e| Allele::field(e, "PICK") == "1")
            .or(self.entries.first())
    }

    fn picked_field(&self, name: &str) -> Value {
        match self.picked().map(|e| Allele::field(e, name)) {
            Some(v) if !v.is_empty() => Value::from(v),
            _ => Value::Null,
        }
    }
}

fn read_annotated(vcf: &str) -> Vec<Allele> {
    let mut layout: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in vcf.lines() {
        if line.starts_with("##INFO=<ID=CSQ") {
            let format = line.split("Format: ").nth(1).unwrap();
            layout = format
                .trim_end_matches("\">")
                .split('|')
                .map(String::from)
                .collect();
        }
        if line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let alts: Vec<&str> = cols[4].split(',').collect();
        let reference = cols[3];
        let shared = alts
            .iter()
            .all(|a| a.as_bytes()[0] == reference.as_bytes()[0]);
        let csq = cols[7]
            .split(';')
            .find_map(|kv| kv.strip_prefix("CSQ="))
            .unwrap_or("");
        for alt in alts {
            let allele = match (shared, &alt[1..]) {
                (true, "") => "-".to_string(),
                (true, rest) => rest.to_string(),
                (false, _) => alt.to_string(),
            };
            let entries = csq
                .split(',')
                .filter(|e| !e.is_empty())
                .map(|e| {
                    layout
                        .iter()
                        .cloned()
                        .zip(e.split('|').map(String::from))
                        .collect::<Vec<_>>()
                })
                .filter(|e| Allele::field(e, "Allele") == allele)
                .collect();
            out.push(Allele {
                chrom: cols[0].to_string(),
                pos: cols[1].parse().unwrap(),
                reference: reference.to_string(),
                alt: alt.to_string(),
                entries,
            });
        }
    }
    out
}

fn impact_rank(impact: &str) -> u8 {
    ["MODIFIER", "LOW", "MODERATE", "HIGH"]
        .iter()
        .position(|i| *i == impact)
        .unwrap_or(0) as u8
}

/// The API's answer equals the reference's alleles, in file order.
fn assert_same(got: &[Value], want: &[&Allele], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: how many");
    for (g, w) in got.iter().zip(want) {
        let key = (
            g["chrom"].as_str().unwrap(),
            g["pos"].as_u64().unwrap(),
            g["ref"].as_str().unwrap(),
            g["alt"].as_str().unwrap(),
        );
        assert_eq!(
            key,
            (
                w.chrom.as_str(),
                w.pos,
                w.reference.as_str(),
                w.alt.as_str()
            ),
            "{what}"
        );
        for (field, name) in [
            ("gene", "SYMBOL"),
            ("consequence", "Consequence"),
            ("impact", "IMPACT"),
            ("hgvsc", "HGVSc"),
            ("hgvsp", "HGVSp"),
            ("feature", "Feature"),
        ] {
            assert_eq!(g[field], w.picked_field(name), "{what}: {field} of {key:?}");
        }
        let others = g["transcripts"].as_array().unwrap().len();
        assert_eq!(
            others,
            w.entries.len().saturating_sub(1),
            "{what}: transcripts of {key:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_variant_table_answers_as_the_annotated_vcf_reads() {
    let system = start(300).await;
    let owner = system.user("owner@example.org", Role::Premium).await;
    let other = system.user("other@example.org", Role::Premium).await;
    let job_id = system.api.submit_ok(&owner, "test.vcf", test_vcf()).await;
    system.api.completed(&owner, &job_id).await;
    assert!(
        system.index_is_hot(&job_id).await,
        "the runner stored an index"
    );
    let annotated = String::from_utf8(system.api.download(&owner, &job_id).await).unwrap();
    let alleles = read_annotated(&annotated);
    assert!(!alleles.is_empty());
    if support::sample("test.vcf").is_some() {
        assert!(
            alleles.iter().filter(|a| !a.entries.is_empty()).count() > 300,
            "the built-in MT models give test.vcf consequences"
        );
    }

    // (query, the reference's filter over one entry or the allele)
    type Entry = Vec<(String, String)>;
    let entry_filter = |a: &Allele, f: &dyn Fn(&Entry) -> bool| a.entries.iter().any(f);
    type Admits = Box<dyn Fn(&Allele) -> bool>;
    let cases: Vec<(&str, Admits)> = vec![
        ("", Box::new(|_| true)),
        (
            "impact=HIGH",
            Box::new(move |a| entry_filter(a, &|e| impact_rank(Allele::field(e, "IMPACT")) >= 3)),
        ),
        (
            "impact=moderate&gene=mt-nd",
            Box::new(move |a| {
                entry_filter(a, &|e| {
                    impact_rank(Allele::field(e, "IMPACT")) >= 2
                        && Allele::field(e, "SYMBOL").starts_with("MT-ND")
                })
            }),
        ),
        (
            "consequence=missense_variant,start_lost",
            Box::new(move |a| {
                entry_filter(a, &|e| {
                    Allele::field(e, "Consequence")
                        .split('&')
                        .any(|t| t == "missense_variant" || t == "start_lost")
                })
            }),
        ),
        (
            "gene=MT-CO1&consequence=synonymous_variant",
            Box::new(move |a| {
                entry_filter(a, &|e| {
                    Allele::field(e, "SYMBOL").starts_with("MT-CO1")
                        && Allele::field(e, "Consequence")
                            .split('&')
                            .any(|t| t == "synonymous_variant")
                })
            }),
        ),
        (
            "region=chrM:1-600",
            Box::new(|a| (1..=600).contains(&a.pos)),
        ),
        (
            "region=MT:3300-4300&impact=LOW",
            Box::new(move |a| {
                (3300..=4300).contains(&a.pos)
                    && entry_filter(a, &|e| impact_rank(Allele::field(e, "IMPACT")) >= 1)
            }),
        ),
        ("gene=NOSUCHGENE", Box::new(|_| false)),
    ];
    let mut nonempty = 0;
    for (query, admits) in &cases {
        let want: Vec<&Allele> = alleles.iter().filter(|a| admits(a)).collect();
        nonempty += usize::from(!want.is_empty());
        let got = system.all_pages(&owner, &job_id, query).await;
        assert_same(&got, &want, query);
    }
    assert!(nonempty >= 5, "the filters were chosen to match something");

    // Sorted by impact: highest first, and the same set.
    let by_impact = system.all_pages(&owner, &job_id, "sort=impact").await;
    assert_eq!(by_impact.len(), alleles.len());
    let ranks: Vec<u8> = by_impact
        .iter()
        .map(|v| impact_rank(v["impact"].as_str().unwrap_or("")))
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{ranks:?}");

    // Another user's table is not found, with good or bad parameters.
    for query in ["", "impact=SEVERE"] {
        let (status, body) = system.variants(&other, &job_id, query).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["reason"], "not_found");
    }
    // Bad values: 400, naming the parameter.
    for (query, param) in [
        ("impact=SEVERE", "impact"),
        ("region=MT:900-100", "region"),
        ("consequence=missense", "consequence"),
        ("limit=100000", "limit"),
        ("max_af=2", "max_af"),
        ("sort=random", "sort"),
        ("cursor=not-a-cursor", "cursor"),
        ("gene=x&gene=y", "gene"),
    ] {
        let (status, body) = system.variants(&owner, &job_id, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["reason"], "bad_request", "{query}");
        assert!(
            body["error"].as_str().unwrap().contains(param),
            "{query}: {body}"
        );
    }
    // Exports: the whole filtered set, as the pages hold it.
    let pages = system
        .all_pages(&owner, &job_id, "impact=LOW&sort=gene")
        .await;
    let response = system
        .api
        .get(
            &owner,
            &format!("/api/v1/jobs/{job_id}/variants?impact=LOW&sort=gene&format=json"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let exported: Vec<Value> = response.json().await.unwrap();
    assert_eq!(exported, pages, "the JSON export is the pages' variants");
    let response = system
        .api
        .get(
            &owner,
            &format!("/api/v1/jobs/{job_id}/variants?impact=LOW&sort=gene&format=tsv"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let tsv = response.text().await.unwrap();
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(
        lines.len(),
        pages.len() + 1,
        "a header and one line an allele"
    );
    assert!(lines[0].starts_with("chrom\tpos\tid\tref\talt\tgene"));
    for (line, v) in lines[1..].iter().zip(&pages) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 16, "{line}");
        assert_eq!(cols[1], v["pos"].to_string());
        assert_eq!(cols[4], v["alt"].as_str().unwrap());
        assert_eq!(cols[5], v["gene"].as_str().unwrap_or(""));
    }
    let (status, body) = system.variants(&owner, &job_id, "format=xml").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("format"), "{body}");
    let (status, _) = system.variants(&other, &job_id, "format=tsv").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An id that is a quote and SQL is a value like any other.
    let (status, body) = system
        .variants(&owner, &job_id, "id=x%27%20OR%201%3D1--")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 0);
    system.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_table_follows_the_results_through_archive_and_restore() {
    let system = start(4).await;
    let token = system.user("free@example.org", Role::Free).await;
    let job_id = system.api.submit_ok(&token, "test.vcf", test_vcf()).await;
    system.api.completed(&token, &job_id).await;
    let (status, first) = system.variants(&token, &job_id, "limit=5").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let index = system.hot_index(&job_id).await.expect("the index is hot");

    system
        .api
        .wait_state(&token, &job_id, "archived", Duration::from_secs(30))
        .await;
    // The index went to cold storage with the results (an archive of its
    // own, recorded on the job), and the table is refused as the download
    // is, and so are its exports.
    assert!(
        !system.index_is_hot(&job_id).await,
        "the index left hot storage"
    );
    let record = system.job(&job_id).await;
    assert!(record.variants_archive_id.is_some(), "{record:?}");
    for query in ["", "format=tsv"] {
        let (status, body) = system.variants(&token, &job_id, query).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["reason"], "upgrade", "the download's reason");
    }

    system.api.upgrade(&token).await;
    system
        .api
        .wait_state(&token, &job_id, "available", Duration::from_secs(30))
        .await;
    let (status, again) = system.variants(&token, &job_id, "limit=5").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, first, "the same table after the restore");
    assert!(
        system.hot_index(&job_id).await == Some(index),
        "the index came back byte for byte"
    );
    let record = system.job(&job_id).await;
    assert!(
        record.variants_archive_id.is_none() && record.variants_retrieval_job_id.is_none(),
        "{record:?}"
    );
    system.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_page_shows_the_table_with_its_filters_in_the_url() {
    let system = start(300).await;
    let base = system.api.web.clone();
    let mut owner = support::browser::Browser::new(&base);
    owner.sign_up("page-owner@example.org").await;
    let job_id = owner.submit_job().await;
    let started = std::time::Instant::now();
    loop {
        let job = system.job(&job_id).await;
        if job.job_status == gas_jobs::JobStatus::Completed {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{job:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let job_page = owner.get(&format!("/annotations/{job_id}")).await;
    assert!(
        job_page
            .body
            .contains(&format!("href=\"/annotations/{job_id}/variants\"")),
        "the job page links to its table"
    );
    let filters = "impact=LOW&sort=gene";
    let api = owner
        .get(&format!(
            "/api/v1/jobs/{job_id}/variants?{filters}&limit=500"
        ))
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let api: Value = serde_json::from_str(&api.body).unwrap();
    let total = api["total"].as_u64().unwrap();
    assert!(total > 0);

    let mut path = format!("/annotations/{job_id}/variants?{filters}");
    let mut seen = 0;
    let mut pages = 0;
    loop {
        let page = owner.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.body
                .contains(&format!("<span id=\"count\">{total}</span>")),
            "the count of the whole filtered set"
        );
        assert!(
            page.body.contains("value=\"LOW\" selected"),
            "the form keeps the filter"
        );
        let rows = page.body.matches("<td class=\"pos\">MT:").count();
        assert!(rows <= 50, "50 rows a page");
        seen += rows;
        pages += 1;
        let Some(at) = page.body.find("id=\"next\" href=\"") else {
            break;
        };
        let rest = &page.body[at + "id=\"next\" href=\"".len()..];
        // The last page keeps the link (hidden, empty) for the script.
        if rest.starts_with('"') {
            break;
        }
        // The page escapes `&` in attributes, as HTML wants.
        path = rest[..rest.find('"').unwrap()]
            .replace("&#38;", "&")
            .replace("&amp;", "&");
        assert!(
            path.contains("impact=LOW") && path.contains("sort=gene"),
            "the next page keeps the filters: {path}"
        );
    }
    assert_eq!(seen as u64, total, "the pages hold the whole set once");
    assert_eq!(pages as u64, total.div_ceil(50));

    let mut stranger = support::browser::Browser::new(&base);
    stranger.sign_up("stranger@example.org").await;
    let page = stranger
        .get(&format!("/annotations/{job_id}/variants"))
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let page = owner
        .get(&format!("/annotations/{job_id}/variants?impact=SEVERE"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("impact"));
    system.running.stop().await;
}
