"""The classifier readout (`adapt_nb.models.set_pooling`) under PEFT wrappers and sparse finetuning (issue 13)."""
import warnings
import pytest, torch
from adapt_nb.models import load_classifier, module_inventory

TEXTS = ['a gripping, beautifully shot film', 'dull', 'not as good as the trailer promised, but fun']

@pytest.fixture(scope='module')
def mean_clf():
    torch.set_num_threads(1); torch.manual_seed(0)
    return load_classifier('minilm', pooling='mean')

def _logits(model, tok, texts, **kw):
    model.eval()
    with torch.no_grad(): return model(**tok(texts, padding=True, return_tensors='pt'), **kw).logits

def _hand_mean_logits(model, tok, texts):
    "The head applied to masked means of the encoder's last hidden states, one text at a time (no padding)."
    with torch.no_grad():
        outs = [model.bert(**tok([t], return_tensors='pt'), output_hidden_states=True).hidden_states[-1][0].mean(0)
                for t in texts]
        return model.classifier(torch.stack(outs))

def test_head_is_the_classifier_alone(mean_clf):
    model, _ = mean_clf
    inv = module_inventory(model)
    assert list(inv.loc[inv['head'], 'name']) == ['classifier']
    assert not any('pooler' in n for n, _ in model.named_parameters())

@pytest.mark.parametrize('method', ['lora', 'adalora'])
def test_lora_wrappers_keep_the_readout(mean_clf, method):
    "At initialisation LoRA/AdaLoRA add nothing (B = 0): the wrapped model predicts what the readout says."
    from adapt_nb.adapters import build_peft
    model, tok = load_classifier('minilm', pooling='mean')
    with torch.no_grad(): model.classifier.weight.normal_(0, 0.5)
    ref = _hand_mean_logits(model, tok, TEXTS)
    pm = build_peft(model, method, budget=0.05, total_step=10)
    torch.testing.assert_close(_logits(pm, tok, TEXTS), ref, atol=1e-5, rtol=1e-5)

def test_prefix_tuning_reads_real_tokens_only():
    "Prefix tuning prepends virtual tokens to the attention mask, not to the hidden states: padding changes nothing."
    from adapt_nb.adapters import build_peft
    torch.manual_seed(0)
    model, tok = load_classifier('minilm', pooling='mean')
    pm = build_peft(model, 'prefix', num_virtual_tokens=4)
    with torch.no_grad():
        for p in pm.parameters():
            if p.requires_grad: p.normal_(0, 0.5)   # a prefix that matters
    batch = _logits(pm, tok, TEXTS)
    one = torch.cat([_logits(pm, tok, [t]) for t in TEXTS])
    torch.testing.assert_close(batch, one, atol=1e-5, rtol=1e-5)

def test_sparse_finetune_trains_through_the_readout(tmp_path):
    "SparseFinetune with the mean readout: the selected module and the classifier move, the rest stays; saved and reloaded it predicts the same."
    from adapt_nb.data import load_rotten_tomatoes
    from adapt_nb.batching import task_dataloaders
    from adapt_nb.learner import classifier_learner, SparseFinetune
    from adapt_nb.prediction import predict_logits
    task = load_rotten_tomatoes(seed=0).subsample(n_train=32, n_valid=16, n_test=16, seed=0)
    torch.manual_seed(0)
    model, tok = load_classifier('minilm', 2, task.label_names, pooling='mean')
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    learn = classifier_learner(model, task_dataloaders(task, tok, bs=8, max_length=32), lr=1e-3,
                               cbs=[SparseFinetune(modules=['bert.encoder.layer.5.output.dense', 'classifier'])])
    learn.remove_cbs([cb for cb in learn.cbs if type(cb).__name__ == 'ProgressCallback'])
    with learn.no_logging(), warnings.catch_warnings():
        warnings.simplefilter('ignore'); learn.fit(1)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed == {'bert.encoder.layer.5.output.dense.weight', 'bert.encoder.layer.5.output.dense.bias',
                       'classifier.weight', 'classifier.bias'}
    model.save_pretrained(tmp_path); tok.save_pretrained(tmp_path)
    again, atok = load_classifier(tmp_path, 2, task.label_names, pooling='auto')
    texts = task.test['text'].tolist()
    torch.testing.assert_close(torch.from_numpy(predict_logits(again, atok, texts)),
                               torch.from_numpy(predict_logits(model, tok, texts)), atol=1e-5, rtol=1e-5)
