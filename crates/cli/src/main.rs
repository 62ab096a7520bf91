fn main() {
    println!("miniguard");
}
