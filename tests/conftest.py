"Shared fixtures: a tiny random BERT with the embedded MiniLM tokenizer and a small labelled CSV (fast CLI runs)."
import functools, os, textwrap
import pandas as pd, pytest
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification
from adapt_nb.data import load_rotten_tomatoes
from adapt_nb.models import checkpoint_tokenizer, embedded_path

# Tiny random models of any family: keyword arguments that set every config class's sizes (each takes its own names).
SIZES = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, num_key_value_heads=2,
             n_embd=32, n_layer=2, n_head=2, dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=128,
             n_positions=128, num_labels=3)
base_tokenizer = functools.lru_cache(checkpoint_tokenizer)          # loading SmolLM2's from its GGUF file takes seconds

# Run the CLI with os.replace slowed down and announced, so that a kill can be aimed at a save in progress.
RUNNER = textwrap.dedent('''
    import os, sys, time
    real = os.replace
    def replace(a, b, *args, **kw):
        print('REPLACE', os.path.basename(str(b)), flush=True); time.sleep(0.1)
        return real(a, b, *args, **kw)
    os.replace = replace
    from adapt_nb.cli import adapt_nb_run
    adapt_nb_run(sys.argv[1:])
''')


@pytest.fixture(scope='session')
def tiny_setup(tmp_path_factory):
    "A folder with `tiny/` (a 2-layer BERT, hidden 32, MiniLM's tokenizer), `data.csv` (240 RT snippets) and `runner.py`."
    root = tmp_path_factory.mktemp('tiny')
    tok = AutoTokenizer.from_pretrained(str(embedded_path('minilm')[0]))
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                     max_position_embeddings=128, num_labels=2)
    BertForSequenceClassification(cfg).save_pretrained(root/'tiny'); tok.save_pretrained(root/'tiny')
    rt = load_rotten_tomatoes(seed=0).subsample(n_train=160, n_valid=40, n_test=40, seed=0)
    df = pd.concat([rt.train, rt.valid, rt.test])[['text', 'label']]
    df['label'] = df['label'].map(dict(enumerate(rt.label_names)))
    df.to_csv(root/'data.csv', index=False)
    (root/'runner.py').write_text(RUNNER)
    return root
