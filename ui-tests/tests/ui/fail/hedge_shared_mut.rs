use retry::hedge;

#[hedge(n = 2)]
async fn append(log: &mut Vec<String>, line: String) -> Result<(), ()> {
    log.push(line);
    Ok(())
}

fn main() {
    let mut log = Vec::new();
    let _ = append(&mut log, "x".to_string());
}
