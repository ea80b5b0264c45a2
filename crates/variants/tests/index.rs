//! The index against a plain reference: generated annotated VCFs
//! (multi-allelic records, both contig naming styles, records without CSQ,
//! unsorted input, empty files) are indexed, and every filter's answer,
//! walked page by page in every order, equals what the reference reads
//! from the VCF text itself.

use std::io::Write;
use std::path::{Path, PathBuf};

use gas_variants::{build_file, BuildOptions, Index, Params, Query, QueryError, Sort};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

// ---------------------------------------------------------------- generator

const GENES: &[&str] = &[
    "BRCA1", "BRCA2", "BRAF", "TP53", "MT-ND1", "MT-TF", "brca_x", "",
];
const TERMS: &[&str] = &[
    "missense_variant",
    "synonymous_variant",
    "stop_gained",
    "splice_region_variant",
    "intron_variant",
    "upstream_gene_variant",
    "5_prime_UTR_variant",
    "frameshift_variant",
];
const IMPACTS: &[&str] = &["HIGH", "MODERATE", "LOW", "MODIFIER"];
const CLNSIG: &[&str] = &[
    "Pathogenic",
    "Likely_pathogenic",
    "Pathogenic/Likely_pathogenic",
    "Benign",
    "Conflicting_interpretations_of_pathogenicity",
    "Uncertain_significance",
];
/// The CSQ layout the generated files declare: not GAS's order, so the
/// header is what names the fields.
const LAYOUT: &str =
    "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|HGVSc|HGVSp|PICK";

fn bases(rng: &mut StdRng, range: std::ops::Range<usize>) -> String {
    let n = rng.gen_range(range);
    (0..n)
        .map(|_| *b"ACGT".choose(rng).unwrap() as char)
        .collect()
}

/// An annotated VCF of `records` records. `sorted`: contigs in blocks and
/// positions ascending; otherwise contigs come back and positions jump.
fn generate(rng: &mut StdRng, records: usize, sorted: bool) -> String {
    let mut out = String::new();
    out.push_str("##fileformat=VCFv4.2\n");
    out.push_str("##INFO=<ID=AF,Number=A,Type=Float,Description=\"Allele frequency\">\n");
    out.push_str("##INFO=<ID=CLNSIG,Number=.,Type=String,Description=\"ClinVar\">\n");
    out.push_str(&format!(
        "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Consequence annotations from Ensembl VEP. Format: {LAYOUT}\">\n"
    ));
    out.push_str("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    let contigs = ["chr1", "2", "chrM", "X", "chr17"];
    let mut plan: Vec<(usize, u64)> = Vec::new();
    let mut contig = 0;
    let mut pos = 1u64;
    for _ in 0..records {
        if sorted {
            if rng.gen_bool(0.1) && contig + 1 < contigs.len() {
                contig += 1;
                pos = 1;
            }
            pos += rng.gen_range(0..40);
        } else {
            contig = rng.gen_range(0..contigs.len());
            pos = rng.gen_range(1..400);
        }
        plan.push((contig, pos));
    }
    for (n, (contig, pos)) in plan.into_iter().enumerate() {
        let reference = bases(rng, 1..4);
        let n_alts = rng.gen_range(1..4);
        let mut alts: Vec<String> = Vec::new();
        let indel_style = rng.gen_bool(0.3);
        while alts.len() < n_alts {
            let alt = if indel_style {
                // Every allele shares the first base: VEP drops it.
                format!("{}{}", &reference[..1], bases(rng, 0..4))
            } else {
                bases(rng, 1..3)
            };
            if alt != reference && !alts.contains(&alt) {
                alts.push(alt);
            }
        }
        let shared = alts
            .iter()
            .all(|a| a.as_bytes()[0] == reference.as_bytes()[0]);
        let id = match rng.gen_range(0..4) {
            0 => format!("rs{}", n % 7),
            1 => format!("rs{};COSV{}", n % 5, n % 3),
            _ => ".".into(),
        };
        let mut info = vec![format!("DP={}", rng.gen_range(1..99))];
        if rng.gen_bool(0.6) {
            let afs: Vec<String> = alts
                .iter()
                .map(|_| match rng.gen_range(0..5) {
                    0 => ".".into(),
                    k => format!("{:.3}", rng.gen_range(0.0..1.0f64) / k as f64),
                })
                .collect();
            info.push(format!("AF={}", afs.join(",")));
        }
        if rng.gen_bool(0.2) {
            info.push(format!("CLNSIG={}", CLNSIG.choose(rng).unwrap()));
        }
        if rng.gen_bool(0.8) {
            let mut entries = Vec::new();
            for alt in &alts {
                let allele = if shared {
                    match &alt[1..] {
                        "" => "-".to_string(),
                        s => s.to_string(),
                    }
                } else {
                    alt.clone()
                };
                let count = rng.gen_range(0..4);
                let pick = if rng.gen_bool(0.7) {
                    Some(rng.gen_range(0..count.max(1)))
                } else {
                    None
                };
                for k in 0..count {
                    let gene = *GENES.choose(rng).unwrap();
                    let mut terms: Vec<&str> = {
                        let k = rng.gen_range(1..3);
                        TERMS.choose_multiple(rng, k)
                    }
                    .copied()
                    .collect();
                    terms.sort();
                    let impact = IMPACTS.choose(rng).unwrap();
                    let feature = format!("T{}", rng.gen_range(0..6));
                    let hgvsc = if rng.gen_bool(0.5) {
                        format!("{feature}.1:c.{}A>G", rng.gen_range(1..500))
                    } else {
                        String::new()
                    };
                    let hgvsp = if rng.gen_bool(0.3) {
                        format!(
                            "P{}.1:p.Arg{}Gly",
                            rng.gen_range(0..3),
                            rng.gen_range(1..90)
                        )
                    } else {
                        String::new()
                    };
                    let picked = if pick == Some(k) { "1" } else { "" };
                    entries.push(format!(
                        "{allele}|{}|{impact}|{gene}|ENSG{}|Transcript|{feature}|protein_coding|{hgvsc}|{hgvsp}|{picked}",
                        terms.join("&"),
                        gene.len(),
                    ));
                }
            }
            if !entries.is_empty() {
                info.push(format!("CSQ={}", entries.join(",")));
            }
        }
        out.push_str(&format!(
            "{}\t{pos}\t{id}\t{reference}\t{}\t50\tPASS\t{}\n",
            contigs[contig],
            alts.join(","),
            info.join(";")
        ));
    }
    out
}

// ---------------------------------------------------------------- reference

#[derive(Debug, Clone, PartialEq)]
struct RefEntry {
    consequence: String,
    impact: String,
    symbol: String,
    gene: String,
    feature: String,
    hgvsc: String,
    hgvsp: String,
    pick: bool,
}

#[derive(Debug, Clone)]
struct RefAllele {
    order: usize,
    contig_rank: usize,
    contig: String,
    pos: u64,
    reference: String,
    alt: String,
    ids: Vec<String>,
    id: Option<String>,
    entries: Vec<RefEntry>,
    clinvar: Option<String>,
    af: Option<f64>,
}

impl RefAllele {
    fn picked(&self) -> Option<&RefEntry> {
        self.entries
            .iter()
            .find(|e| e.pick)
            .or(self.entries.first())
    }
}

fn norm_contig(name: &str) -> String {
    let lower = name.to_lowercase();
    let bare = if lower.starts_with("chr") && name.len() > 3 {
        &name[3..]
    } else {
        name
    };
    match bare.to_uppercase().as_str() {
        "M" => "MT".into(),
        other => other.into(),
    }
}

/// Reads the VCF text the plain way.
fn reference_read(vcf: &str) -> Vec<RefAllele> {
    let mut layout: Vec<String> = Vec::new();
    let mut contigs: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in vcf.lines() {
        if let Some(format) = line
            .strip_prefix("##INFO=<ID=CSQ")
            .and_then(|l| l.split("Format: ").nth(1))
        {
            layout = format
                .trim_end_matches("\">")
                .split('|')
                .map(String::from)
                .collect();
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let alts: Vec<&str> = cols[4].split(',').collect();
        let reference = cols[3];
        let shared = alts
            .iter()
            .all(|a| a.as_bytes()[0] == reference.as_bytes()[0]);
        let info: Vec<(&str, &str)> = cols[7]
            .split(';')
            .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
            .collect();
        let get = |k: &str| info.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        let contig_rank = match contigs.iter().position(|c| c == cols[0]) {
            Some(i) => i,
            None => {
                contigs.push(cols[0].to_string());
                contigs.len() - 1
            }
        };
        let afs: Vec<&str> = get("AF")
            .map(|a| a.split(',').collect())
            .unwrap_or_default();
        for (i, alt) in alts.iter().enumerate() {
            let vep_allele = if shared {
                match &alt[1..] {
                    "" => "-".to_string(),
                    s => s.to_string(),
                }
            } else {
                alt.to_string()
            };
            let mut entries = Vec::new();
            if let Some(csq) = get("CSQ") {
                for text in csq.split(',') {
                    let fields: Vec<&str> = text.split('|').collect();
                    let f = |name: &str| {
                        fields[layout.iter().position(|l| l == name).unwrap()].to_string()
                    };
                    if f("Allele") != vep_allele {
                        continue;
                    }
                    entries.push(RefEntry {
                        consequence: f("Consequence"),
                        impact: f("IMPACT"),
                        symbol: f("SYMBOL"),
                        gene: f("Gene"),
                        feature: f("Feature"),
                        hgvsc: f("HGVSc"),
                        hgvsp: f("HGVSp"),
                        pick: f("PICK") == "1",
                    });
                }
            }
            let ids: Vec<String> = cols[2]
                .split(';')
                .filter(|i| *i != ".")
                .map(String::from)
                .collect();
            out.push(RefAllele {
                order: out.len(),
                contig_rank,
                contig: cols[0].to_string(),
                pos: cols[1].parse().unwrap(),
                reference: reference.to_string(),
                alt: alt.to_string(),
                id: (!ids.is_empty()).then(|| cols[2].to_string()),
                ids,
                entries,
                clinvar: get("CLNSIG").map(String::from),
                af: afs.get(i).and_then(|a| a.parse().ok()),
            });
        }
    }
    out
}

/// The filter, as plain code.
#[derive(Debug, Clone, Default)]
struct RefFilter {
    gene: Option<String>,
    consequence: Vec<String>,
    impact: Option<String>,
    region: Option<(String, u64, u64)>,
    id: Option<String>,
    clinvar: Option<String>,
    max_af: Option<f64>,
}

fn impact_rank(impact: &str) -> i32 {
    match impact {
        "HIGH" => 3,
        "MODERATE" => 2,
        "LOW" => 1,
        "MODIFIER" => 0,
        _ => -1,
    }
}

impl RefFilter {
    fn params(&self) -> Params {
        Params {
            gene: self.gene.clone(),
            consequence: (!self.consequence.is_empty()).then(|| self.consequence.join(",")),
            impact: self.impact.clone(),
            region: self.region.as_ref().map(|(c, s, e)| format!("{c}:{s}-{e}")),
            id: self.id.clone(),
            clinvar: self.clinvar.clone(),
            max_af: self.max_af.map(|a| a.to_string()),
            ..Params::default()
        }
    }

    fn admits(&self, a: &RefAllele) -> bool {
        if let Some((contig, start, end)) = &self.region {
            if norm_contig(&a.contig) != norm_contig(contig) || a.pos < *start || a.pos > *end {
                return false;
            }
        }
        if let Some(id) = &self.id {
            if !a.ids.contains(id) {
                return false;
            }
        }
        if let Some(term) = &self.clinvar {
            let want = term.to_lowercase().replace(' ', "_");
            let has = a.clinvar.as_deref().is_some_and(|c| {
                c.split(['/', ',', '|', '&'])
                    .any(|t| t.to_lowercase().replace(' ', "_") == want)
            });
            if !has {
                return false;
            }
        }
        if let Some(max) = self.max_af {
            if !a.af.is_some_and(|af| af <= max) {
                return false;
            }
        }
        let entry_conditions =
            self.gene.is_some() || !self.consequence.is_empty() || self.impact.is_some();
        if !entry_conditions {
            return true;
        }
        a.entries.iter().any(|e| {
            self.gene.as_ref().is_none_or(|g| {
                e.symbol
                    .to_ascii_lowercase()
                    .starts_with(&g.to_ascii_lowercase())
            }) && (self.consequence.is_empty()
                || e.consequence
                    .split('&')
                    .any(|t| self.consequence.iter().any(|c| c == t)))
                && self
                    .impact
                    .as_ref()
                    .is_none_or(|i| impact_rank(&e.impact) >= impact_rank(&i.to_uppercase()))
        })
    }
}

fn reference_answer(alleles: &[RefAllele], filter: &RefFilter, sort: Sort) -> Vec<RefAllele> {
    let mut found: Vec<RefAllele> = alleles
        .iter()
        .filter(|a| filter.admits(a))
        .cloned()
        .collect();
    let position = |a: &RefAllele| (a.contig_rank, a.pos, a.order);
    match sort {
        Sort::Position => found.sort_by_key(position),
        Sort::Gene => found.sort_by(|a, b| {
            let key = |x: &RefAllele| {
                let g = x.picked().map(|e| e.symbol.clone()).unwrap_or_default();
                (g.is_empty(), g, position(x))
            };
            key(a).cmp(&key(b))
        }),
        Sort::Impact => found.sort_by_key(|x| {
            let rank = x.picked().map(|e| impact_rank(&e.impact)).unwrap_or(-1);
            (-rank, position(x))
        }),
        Sort::Frequency => found.sort_by(|a, b| {
            let af = |x: &RefAllele| x.af.unwrap_or(2.0);
            af(a)
                .partial_cmp(&af(b))
                .unwrap()
                .then(position(a).cmp(&position(b)))
        }),
    }
    found
}

// ---------------------------------------------------------------- harness

/// The index of `vcf` written as a results file in `dir` (with CRLF line
/// breaks when `crlf`), opened.
fn index_of(dir: &Path, vcf: &str, crlf: bool) -> Index {
    let (index, results) = files_of(dir, vcf, crlf);
    Index::open(&index, &results).unwrap()
}

/// The results file of `vcf` and its index, in `dir`.
fn files_of(dir: &Path, vcf: &str, crlf: bool) -> (PathBuf, PathBuf) {
    let results = dir.join("results.annot.vcf");
    let text = if crlf {
        vcf.replace('\n', "\r\n")
    } else {
        vcf.to_string()
    };
    std::fs::write(&results, text).unwrap();
    let index = dir.join("results.variants.idx");
    build_file(&results, &index, &BuildOptions::default()).unwrap();
    (index, results)
}

fn none_if_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Walks every page of the query and checks it against the reference.
fn check(index: &Index, alleles: &[RefAllele], filter: &RefFilter, sort: Sort, limit: usize) {
    let expected = reference_answer(alleles, filter, sort);
    let mut params = filter.params();
    params.sort = Some(sort.as_str().into());
    params.limit = Some(limit.to_string());
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let query = Query::from_params(&params).unwrap();
        let answer = index.query(&query).unwrap();
        assert_eq!(
            answer.total as usize,
            expected.len(),
            "total for {filter:?}"
        );
        assert!(answer.variants.len() <= limit);
        pages += 1;
        assert!(pages <= expected.len() + 1, "pagination does not end");
        got.extend(answer.variants);
        match answer.next {
            Some(next) => params.cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        got.len(),
        expected.len(),
        "{filter:?} sorted by {sort:?}, {limit} a page"
    );
    for (g, e) in got.iter().zip(&expected) {
        let what = format!("{filter:?} {sort:?}: {e:?}");
        assert_eq!(
            (&g.chrom, g.pos, &g.reference, &g.alt, &g.id),
            (&e.contig, e.pos, &e.reference, &e.alt, &e.id),
            "{what}"
        );
        assert_eq!(g.clinvar, e.clinvar, "{what}");
        assert_eq!(g.af, e.af, "{what}");
        let picked = e.picked();
        assert_eq!(
            g.gene,
            picked.and_then(|p| none_if_empty(&p.symbol)),
            "{what}"
        );
        assert_eq!(
            g.gene_id,
            picked.and_then(|p| none_if_empty(&p.gene)),
            "{what}"
        );
        assert_eq!(
            g.feature,
            picked.and_then(|p| none_if_empty(&p.feature)),
            "{what}"
        );
        assert_eq!(
            g.consequence,
            picked.and_then(|p| none_if_empty(&p.consequence)),
            "{what}"
        );
        assert_eq!(
            g.impact,
            picked.and_then(|p| none_if_empty(&p.impact)),
            "{what}"
        );
        assert_eq!(
            g.hgvsc,
            picked.and_then(|p| none_if_empty(&p.hgvsc)),
            "{what}"
        );
        assert_eq!(
            g.hgvsp,
            picked.and_then(|p| none_if_empty(&p.hgvsp)),
            "{what}"
        );
        let others: Vec<&RefEntry> = e
            .entries
            .iter()
            .filter(|x| !std::ptr::eq(*x, picked.unwrap()))
            .collect();
        assert_eq!(g.transcripts.len(), others.len(), "{what}");
        for (t, x) in g.transcripts.iter().zip(others) {
            assert_eq!(t.feature, none_if_empty(&x.feature), "{what}");
            assert_eq!(t.consequence, none_if_empty(&x.consequence), "{what}");
            assert_eq!(t.hgvsc, none_if_empty(&x.hgvsc), "{what}");
            assert_eq!(t.hgvsp, none_if_empty(&x.hgvsp), "{what}");
            assert_eq!(t.impact, none_if_empty(&x.impact), "{what}");
        }
    }
}

fn random_filter(rng: &mut StdRng) -> RefFilter {
    let mut f = RefFilter::default();
    if rng.gen_bool(0.3) {
        f.gene = Some(
            ["BRC", "brca2", "MT-", "TP53", "B", "x"]
                .choose(rng)
                .unwrap()
                .to_string(),
        );
    }
    if rng.gen_bool(0.3) {
        f.consequence = {
            let k = rng.gen_range(1..3);
            TERMS.choose_multiple(rng, k)
        }
        .map(|t| t.to_string())
        .collect();
    }
    if rng.gen_bool(0.3) {
        f.impact = Some(
            ["HIGH", "moderate", "LOW", "MODIFIER"]
                .choose(rng)
                .unwrap()
                .to_string(),
        );
    }
    if rng.gen_bool(0.3) {
        let contig = ["1", "chr1", "chr2", "M", "chrM", "MT", "x", "chr17", "22"]
            .choose(rng)
            .unwrap();
        let start = rng.gen_range(1..200);
        f.region = Some((contig.to_string(), start, start + rng.gen_range(0..300)));
    }
    if rng.gen_bool(0.15) {
        f.id = Some(
            ["rs1", "rs3", "COSV2", "rs99"]
                .choose(rng)
                .unwrap()
                .to_string(),
        );
    }
    if rng.gen_bool(0.15) {
        f.clinvar = Some(
            [
                "pathogenic",
                "Likely pathogenic",
                "benign",
                "uncertain_significance",
            ]
            .choose(rng)
            .unwrap()
            .to_string(),
        );
    }
    if rng.gen_bool(0.2) {
        f.max_af = Some([0.0, 0.01, 0.1, 0.5, 1.0].choose(rng).copied().unwrap());
    }
    f
}

const SORTS: [Sort; 4] = [Sort::Position, Sort::Gene, Sort::Impact, Sort::Frequency];

#[test]
fn every_filter_and_order_equals_the_reference() {
    for (seed, records, sorted, crlf) in [
        (1u64, 300, true, false),
        (2, 300, false, false),
        (3, 150, true, true),
        (4, 40, false, true),
    ] {
        let mut rng = StdRng::seed_from_u64(seed);
        let vcf = generate(&mut rng, records, sorted);
        let dir = tempfile::tempdir().unwrap();
        let index = index_of(dir.path(), &vcf, crlf);
        let alleles = reference_read(&vcf);
        assert!(
            alleles.iter().any(|a| a.entries.is_empty()),
            "some alleles lack CSQ"
        );
        let mut nonempty = 0;
        let mut filters = vec![RefFilter::default()];
        filters.extend((0..60).map(|_| random_filter(&mut rng)));
        for filter in &filters {
            let expected = reference_answer(&alleles, filter, Sort::Position).len();
            nonempty += usize::from(expected > 0);
            for sort in SORTS {
                let limit = *[1usize, 3, 7, 50].choose(&mut rng).unwrap();
                check(&index, &alleles, filter, sort, limit);
            }
        }
        assert!(
            nonempty > 15,
            "seed {seed}: too few filters matched anything ({nonempty})"
        );
    }
}

#[test]
fn both_contig_styles_and_multiallelic_records() {
    let vcf = format!(
        "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"x. Format: {LAYOUT}\">\n\
         #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\
         chrM\t73\trs1\tA\tG,C\t.\t.\tCSQ=G|missense_variant|MODERATE|MT-ND1|g|Transcript|T1|pc|T1.1:c.1A>G||,C|stop_gained|HIGH|MT-ND2|g|Transcript|T2|pc|||1,C|intron_variant|MODIFIER|MT-ND1|g|Transcript|T1|pc|||\n\
         chrM\t309\t.\tC\tCC,CCC\t.\t.\tAF=0.5,0.01;CSQ=C|upstream_gene_variant|MODIFIER|MT-TF|g|Transcript|T3|pc|||,CC|upstream_gene_variant|MODIFIER|MT-TV|g|Transcript|T4|pc|||\n\
         1\t10\t.\tACT\tA\t.\t.\tCLNSIG=Pathogenic/Likely_pathogenic\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let index = index_of(dir.path(), &vcf, false);
    let ask = |f: fn(&mut Params)| {
        let mut p = Params::default();
        f(&mut p);
        index.query(&Query::from_params(&p).unwrap()).unwrap()
    };
    let all = ask(|_| {});
    assert_eq!(all.total, 5);
    let c = &all.variants[1];
    assert_eq!(
        (c.alt.as_str(), c.gene.as_deref(), c.impact.as_deref()),
        ("C", Some("MT-ND2"), Some("HIGH"))
    );
    assert_eq!(c.transcripts.len(), 1, "the other entry of C");
    assert_eq!(all.variants[2].gene.as_deref(), Some("MT-TF"));
    assert_eq!(all.variants[3].gene.as_deref(), Some("MT-TV"));
    assert_eq!(all.variants[3].af, Some(0.01));
    let plain = &all.variants[4];
    assert_eq!(
        (plain.gene.as_deref(), plain.consequence.as_deref()),
        (None, None)
    );
    // MT and chrM meet; so do 1 and chr1.
    assert_eq!(ask(|p| p.region = Some("MT:1-100".into())).total, 2);
    assert_eq!(ask(|p| p.region = Some("chr1:10".into())).total, 1);
    // One entry must meet every entry condition: C has MT-ND1 (MODIFIER)
    // and a HIGH entry of MT-ND2, so gene MT-ND1 with impact HIGH is none.
    assert_eq!(
        ask(|p| {
            p.gene = Some("MT-ND1".into());
            p.impact = Some("HIGH".into());
        })
        .total,
        0
    );
    assert_eq!(ask(|p| p.gene = Some("mt-nd".into())).total, 2);
    assert_eq!(
        ask(|p| p.clinvar = Some("likely pathogenic".into())).total,
        1
    );
    assert_eq!(ask(|p| p.id = Some("rs1".into())).total, 2);
    assert_eq!(ask(|p| p.max_af = Some("0.1".into())).total, 1);
}

#[test]
fn an_empty_file_is_an_empty_table() {
    let dir = tempfile::tempdir().unwrap();
    let vcf = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
    let index = index_of(dir.path(), vcf, false);
    for sort in SORTS {
        let mut q = Query {
            sort,
            ..Query::default()
        };
        q.filter.gene = Some("BRCA".into());
        let answer = index.query(&q).unwrap();
        assert_eq!(
            (answer.variants.len(), answer.total, answer.next),
            (0, 0, None)
        );
    }
}

#[test]
fn bad_cursors_are_errors_with_a_reason() {
    let mut rng = StdRng::seed_from_u64(9);
    let vcf = generate(&mut rng, 30, true);
    let dir = tempfile::tempdir().unwrap();
    let index = index_of(dir.path(), &vcf, false);
    let page = index
        .query(&Query {
            limit: 2,
            ..Query::default()
        })
        .unwrap();
    let next = page.next.expect("a second page");
    for (cursor, sort) in [
        ("garbage!".to_string(), Sort::Position),
        (next.clone(), Sort::Gene),
        (
            "eyJzIjoicG9zaXRpb24iLCJrIjpbdHJ1ZV19".to_string(),
            Sort::Position,
        ),
    ] {
        let q = Query {
            cursor: Some(cursor),
            sort,
            ..Query::default()
        };
        match index.query(&q) {
            Err(QueryError::Filter(e)) => assert_eq!(e.param, "cursor"),
            other => panic!("expected a cursor error, got {other:?}"),
        }
    }
    let q = Query {
        cursor: Some(next),
        limit: 2,
        ..Query::default()
    };
    assert_eq!(index.query(&q).unwrap().variants.len(), 2);
}

#[test]
fn a_file_that_is_no_index_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x");
    std::fs::write(
        &path,
        b"not an index at all, just text that goes on for a while",
    )
    .unwrap();
    let results = dir.path().join("r.vcf");
    std::fs::write(&results, b"").unwrap();
    assert!(matches!(
        Index::open(&path, &results),
        Err(QueryError::Format(_))
    ));
    // A cut index is an error too, never a panic.
    let vcf = generate(&mut StdRng::seed_from_u64(9), 50, true);
    let (index, results) = files_of(dir.path(), &vcf, false);
    let bytes = std::fs::read(&index).unwrap();
    for cut in [9, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        assert!(Index::open(&path, &results).is_err(), "cut at {cut}");
    }
}

#[test]
fn an_index_refuses_results_it_was_not_built_from() {
    let dir = tempfile::tempdir().unwrap();
    let vcf = generate(&mut StdRng::seed_from_u64(10), 60, true);
    let (index, results) = files_of(dir.path(), &vcf, false);
    // Another file of another length.
    let other = dir.path().join("other.vcf");
    std::fs::write(&other, format!("{vcf}\n")).unwrap();
    assert!(matches!(
        Index::open(&index, &other),
        Err(QueryError::Stale(_))
    ));
    // The same length, other lines: refused when a row is drawn.
    let shifted: String = vcf
        .lines()
        .map(|l| {
            if l.starts_with('#') {
                format!("{l}\n")
            } else {
                let (chrom, rest) = l.split_once('\t').unwrap();
                format!(
                    "{}\t{rest}\n",
                    if chrom.len() > 1 {
                        &chrom[..chrom.len() - 1]
                    } else {
                        "Q"
                    }
                )
            }
        })
        .collect();
    let shifted = format!("{shifted:<width$}", width = vcf.len());
    assert_eq!(shifted.len(), vcf.len());
    std::fs::write(&results, shifted).unwrap();
    let index = Index::open(&index, &results).unwrap();
    assert!(matches!(
        index.query(&Query::default()),
        Err(QueryError::Stale(_))
    ));
}

#[test]
fn compressed_results_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.vcf.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&input).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(b"##fileformat=VCFv4.2\n").unwrap();
    gz.finish().unwrap();
    let e = build_file(&input, &dir.path().join("x.idx"), &BuildOptions::default()).unwrap_err();
    assert!(matches!(e, gas_variants::BuildError::Compressed), "{e}");
}

#[test]
fn a_scan_holds_the_whole_filtered_set_in_order() {
    let mut rng = StdRng::seed_from_u64(5);
    let vcf = generate(&mut rng, 400, false);
    let dir = tempfile::tempdir().unwrap();
    let index = index_of(dir.path(), &vcf, false);
    let params = Params {
        impact: Some("LOW".into()),
        sort: Some("gene".into()),
        limit: Some("7".into()),
        ..Params::default()
    };
    let mut query = Query::from_params(&params).unwrap();
    let mut paged = Vec::new();
    loop {
        let page = index.query(&query).unwrap();
        paged.extend(page.variants);
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => break,
        }
    }
    let mut scanned = Vec::new();
    let query = Query::from_params(&params).unwrap();
    index
        .scan(&query, |page| {
            scanned.extend(page.iter().cloned());
            true
        })
        .unwrap();
    assert!(paged.len() > 7, "more than a page");
    assert_eq!(scanned, paged);
    for v in &scanned {
        let line = gas_variants::tsv_line(v);
        assert_eq!(
            line.matches('\t').count(),
            gas_variants::TSV_COLUMNS.len() - 1
        );
        assert!(line.ends_with('\n'));
    }
    // Stopping early stops.
    let mut pages = 0;
    index
        .scan(&query, |_| {
            pages += 1;
            false
        })
        .unwrap();
    assert_eq!(pages, 1);
}
